package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// testAdmissionModel runs random reservations and releases against a quota
// of two tiers and checks them against a plain model: a reservation is
// admitted exactly when every resource fits its tier, usage always equals
// the sum of live allocations, and it never exceeds a limit.
func testAdmissionModel(t *testing.T, s store.Store) {
	tn := mkTenant(t, s, "Model")
	c := mkCluster(t, s, "model", "")
	limits := map[int]store.Resources{0: {CPU: 4, MemoryMiB: 4096, StorageMiB: 1000, NetworkMbps: 100}, 2: {CPU: 1, MemoryMiB: 512, StorageMiB: 100, NetworkMbps: 10}}
	putQuota(t, s, tn.ID, c.ID, tier(0, 4, 4096, 1000, 100), tier(2, 1, 512, 100, 10))
	ctx := context.Background()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		used := map[int]store.Resources{}
		live := map[string]store.QuotaRequest{}
		defer func() {
			// Leave the quota empty for the next run.
			for owner := range live {
				if err := s.Write(ctx, func(tx store.Tx) error { return tx.ReleaseQuota(ctx, "model", owner) }); err != nil {
					rt.Fatal(err)
				}
			}
		}()
		for step := range rapid.IntRange(1, 30).Draw(rt, "steps") {
			owner := fmt.Sprintf("r%d-%d", run, step)
			if len(live) > 0 && rapid.Bool().Draw(rt, "release") {
				for o, r := range live {
					owner = o
					u := used[r.Priority]
					used[r.Priority] = store.Resources{CPU: u.CPU - r.Resources.CPU, MemoryMiB: u.MemoryMiB - r.Resources.MemoryMiB,
						StorageMiB: u.StorageMiB - r.Resources.StorageMiB, NetworkMbps: u.NetworkMbps - r.Resources.NetworkMbps}
					delete(live, o)
					break
				}
				if err := s.Write(ctx, func(tx store.Tx) error { return tx.ReleaseQuota(ctx, "model", owner) }); err != nil {
					rt.Fatal(err)
				}
				continue
			}
			r := store.QuotaRequest{TenantID: tn.ID, ClusterID: c.ID, Priority: rapid.SampledFrom([]int{0, 2}).Draw(rt, "priority"),
				Resources: store.Resources{CPU: float64(rapid.IntRange(0, 12).Draw(rt, "cpu")) / 4, MemoryMiB: int64(rapid.IntRange(0, 2048).Draw(rt, "mem")),
					StorageMiB: int64(rapid.IntRange(0, 400).Draw(rt, "storage")), NetworkMbps: int64(rapid.IntRange(0, 40).Draw(rt, "net"))},
				OwnerKind: "model", OwnerID: owner}
			u, l := used[r.Priority], limits[r.Priority]
			fits := u.CPU+r.Resources.CPU <= l.CPU+1e-9 && u.MemoryMiB+r.Resources.MemoryMiB <= l.MemoryMiB &&
				u.StorageMiB+r.Resources.StorageMiB <= l.StorageMiB && u.NetworkMbps+r.Resources.NetworkMbps <= l.NetworkMbps
			err := s.Write(ctx, func(tx store.Tx) error {
				_, err := tx.ReserveQuota(ctx, r)
				return err
			})
			switch {
			case fits && err != nil:
				rt.Fatalf("step %d: %+v refused with room: %v", step, r.Resources, err)
			case !fits && !errors.Is(err, store.ErrQuotaExceeded):
				rt.Fatalf("step %d: %+v beyond the quota: got %v", step, r.Resources, err)
			case fits:
				live[owner] = r
				used[r.Priority] = store.Resources{CPU: u.CPU + r.Resources.CPU, MemoryMiB: u.MemoryMiB + r.Resources.MemoryMiB,
					StorageMiB: u.StorageMiB + r.Resources.StorageMiB, NetworkMbps: u.NetworkMbps + r.Resources.NetworkMbps}
			}
			var q store.Quota
			if err := s.Read(ctx, func(tx store.Tx) (err error) { q, err = tx.GetQuota(ctx, tn.ID, c.ID); return err }); err != nil {
				rt.Fatal(err)
			}
			for _, qt := range q.Tiers {
				want := used[qt.Priority]
				if qt.Used.MemoryMiB != want.MemoryMiB || qt.Used.StorageMiB != want.StorageMiB || qt.Used.NetworkMbps != want.NetworkMbps ||
					qt.Used.CPU-want.CPU > 1e-6 || want.CPU-qt.Used.CPU > 1e-6 {
					rt.Fatalf("step %d: tier %d used %+v, model %+v", step, qt.Priority, qt.Used, want)
				}
			}
		}
	})
}
