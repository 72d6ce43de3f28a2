package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func testQuotas(t *testing.T, s store.Store) {
	tn := mkTenant(t, s, "Quota_T")
	c, c2 := mkCluster(t, s, "alpha", ""), mkCluster(t, s, "beta", "")
	var created bool
	q := store.Quota{TenantID: tn.ID, ClusterID: c.ID, Tiers: []store.QuotaTier{tier(1, 8, 8192, 1000, 100), tier(0, 24, 102400, 102400, 10240)}}
	write(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		created, err = tx.PutQuota(ctx, &q, time.Now())
		return err
	})
	equal(t, "created", created, true)
	if q.ID == "" || q.TenantName != "Quota_T" || q.ClusterName != "alpha" || len(q.Tiers) != 2 || q.Tiers[0].Priority != 0 {
		t.Fatalf("PutQuota read back %+v", q)
	}
	putQuota(t, s, tn.ID, c2.ID, tier(0, 1, 1, 1, 1))

	use := store.QuotaRequest{TenantID: tn.ID, ClusterID: c.ID, Priority: 1,
		Resources: store.Resources{CPU: 2, MemoryMiB: 4096, StorageMiB: 10, NetworkMbps: 10}, OwnerKind: "instance", OwnerID: "vm1"}
	if err := reserve(t, s, use); err != nil {
		t.Fatal(err)
	}

	// Replacing keeps usage; raising and lowering to exactly the usage is fine.
	q2 := store.Quota{TenantID: tn.ID, ClusterID: c.ID, Tiers: []store.QuotaTier{tier(1, 2, 4096, 2000, 10), tier(2, 1, 1, 1, 1)}}
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		created, err = tx.PutQuota(ctx, &q2, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "created on replace", created, false)
	equal(t, "tiers after replace", fmt.Sprint(q2.Tiers), fmt.Sprint([]store.QuotaTier{
		{Priority: 1, Limits: store.Resources{CPU: 2, MemoryMiB: 4096, StorageMiB: 2000, NetworkMbps: 10}, Used: use.Resources},
		tier(2, 1, 1, 1, 1),
	}))
	equal(t, "created at kept", q2.CreatedAt, q.CreatedAt)

	// Lowering below usage, or dropping a used tier, is refused naming tier and field.
	for _, tc := range []struct {
		tiers  []store.QuotaTier
		object string
		reason string
	}{
		{[]store.QuotaTier{tier(1, 2, 4095, 2000, 10)}, "quota tier 1", "memory_mib limit 4095 is below usage 4096"},
		{[]store.QuotaTier{tier(1, 1.5, 4096, 2000, 10)}, "quota tier 1", "cpu limit 1.5 is below usage 2"},
		{[]store.QuotaTier{tier(0, 1, 1, 1, 1)}, "quota tier 1", "it has usage and cannot be removed"},
	} {
		err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
			_, err := tx.PutQuota(ctx, &store.Quota{TenantID: tn.ID, ClusterID: c.ID, Tiers: tc.tiers}, time.Now())
			return err
		})
		e := wantAs[*store.InUseError](t, err)
		if e.Reason != tc.reason || len(e.Object) < len(tc.object) || e.Object[:len(tc.object)] != tc.object {
			t.Errorf("refusal = %q / %q, want %q... / %q", e.Object, e.Reason, tc.object, tc.reason)
		}
	}
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PutQuota(ctx, &store.Quota{TenantID: tn.ID, ClusterID: c.ID, Tiers: []store.QuotaTier{tier(0, 1, 1, 1, 1), tier(0, 2, 2, 2, 2)}}, time.Now())
		return err
	})
	if err == nil {
		t.Error("PutQuota accepted a repeated priority")
	}

	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetQuota(ctx, tn.ID, c.ID)
		if err != nil {
			return err
		}
		equal(t, "tiers unchanged by refusals", fmt.Sprint(got.Tiers), fmt.Sprint(q2.Tiers))
		byTenant, _, err := tx.ListQuotas(ctx, store.QuotaFilter{TenantID: tn.ID})
		equal(t, "quotas of tenant", len(byTenant), 2)
		if err != nil {
			return err
		}
		equal(t, "first quota cluster", byTenant[0].ClusterName, "alpha")
		byCluster, _, err := tx.ListQuotas(ctx, store.QuotaFilter{ClusterID: c2.ID})
		equal(t, "quotas of cluster beta", len(byCluster), 1)
		if err != nil {
			return err
		}
		equal(t, "tiers of listed quota", len(byCluster[0].Tiers), 1)
		_, err = tx.GetQuota(ctx, tn.ID, "missing")
		wantIs(t, err, store.ErrNotFound)
		return nil
	})

	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteQuota(ctx, tn.ID, c.ID) })
	equal(t, "delete refusal", wantAs[*store.InUseError](t, err).Reason, "tier 1 has usage")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.ReleaseQuota(ctx, "instance", "vm1"); err != nil {
			return err
		}
		return tx.DeleteQuota(ctx, tn.ID, c.ID)
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteQuota(ctx, tn.ID, c.ID) })
	wantIs(t, err, store.ErrNotFound)
}

func testAdmission(t *testing.T, s store.Store) {
	tn := mkTenant(t, s, "Adm")
	c := mkCluster(t, s, "default", "")
	putQuota(t, s, tn.ID, c.ID, tier(0, 4, 1000, 500, 100), tier(3, 1, 10, 10, 10))
	req := func(priority int, cpu float64, mem, storage, net int64, owner string) store.QuotaRequest {
		return store.QuotaRequest{TenantID: tn.ID, ClusterID: c.ID, Priority: priority,
			Resources: store.Resources{CPU: cpu, MemoryMiB: mem, StorageMiB: storage, NetworkMbps: net}, OwnerKind: "instance", OwnerID: owner}
	}
	var alloc store.QuotaAllocation
	write(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		alloc, err = tx.ReserveQuota(ctx, req(0, 2.5, 600, 100, 10, "a"))
		return err
	})
	if alloc.ID == "" || alloc.Priority != 0 || alloc.OwnerID != "a" {
		t.Errorf("allocation = %+v", alloc)
	}
	// Ten reservations of 0.1 cpu fit in the 1.5 cores left despite float sums.
	for i := range 10 {
		if err := reserve(t, s, req(0, 0.1, 1, 1, 1, fmt.Sprint("small", i))); err != nil {
			t.Fatalf("small reservation %d: %v", i, err)
		}
	}
	err := reserve(t, s, req(0, 0.5, 400, 1, 1, "b"))
	e := wantAs[*store.QuotaExceededError](t, err)
	wantIs(t, err, store.ErrQuotaExceeded)
	equal(t, "refusal", *e, store.QuotaExceededError{Resource: "memory_mib", Requested: 400, Used: 610, Limit: 1000, Priority: 0})
	err = reserve(t, s, req(0, 0.6, 1, 1, 1, "b"))
	e = wantAs[*store.QuotaExceededError](t, err)
	equal(t, "refused resource", e.Resource, "cpu")
	err = reserve(t, s, req(3, 0, 0, 0, 11, "b"))
	equal(t, "refused resource", wantAs[*store.QuotaExceededError](t, err).Resource, "network_mbps")
	err = reserve(t, s, req(7, 0, 0, 0, 1, "b"))
	nf := wantAs[*store.NotFoundError](t, err)
	equal(t, "missing tier", nf.Error(), `quota tier with priority 7 on cluster "default" not found`)
	err = reserve(t, s, store.QuotaRequest{TenantID: "missing", ClusterID: c.ID, OwnerKind: "x", OwnerID: "y"})
	wantIs(t, err, store.ErrNotFound)

	// An owner may hold several allocations; release returns them all, once.
	if err := reserve(t, s, req(3, 0.5, 5, 5, 5, "a")); err != nil {
		t.Fatal(err)
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		allocs, err := tx.ListQuotaAllocations(ctx, "instance", "a")
		equal(t, "allocations of a", len(allocs), 2)
		return err
	})
	for range 2 {
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ReleaseQuota(ctx, "instance", "a") })
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range 10 {
			if err := tx.ReleaseQuota(ctx, "instance", fmt.Sprint("small", i)); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		q, err := tx.GetQuota(ctx, tn.ID, c.ID)
		for _, qt := range q.Tiers {
			equal(t, fmt.Sprintf("usage of tier %d after release", qt.Priority), qt.Used, store.Resources{})
		}
		return err
	})
}

func testAdmissionConcurrent(t *testing.T, s store.Store) {
	const workers, perWorker, room = 16, 20, 100
	tn := mkTenant(t, s, "Race")
	c := mkCluster(t, s, "default", "")
	putQuota(t, s, tn.ID, c.ID, tier(0, room, room*2, room*3, room*4))
	var mu sync.Mutex
	admitted, refused := 0, 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				err := reserve(t, s, store.QuotaRequest{TenantID: tn.ID, ClusterID: c.ID,
					Resources: store.Resources{CPU: 1, MemoryMiB: 2, StorageMiB: 3, NetworkMbps: 4},
					OwnerKind: "instance", OwnerID: fmt.Sprintf("w%d-%d", w, i)})
				var qe *store.QuotaExceededError
				mu.Lock()
				switch {
				case err == nil:
					admitted++
				case errors.As(err, &qe):
					refused++
				default:
					t.Errorf("reservation w%d-%d: %v", w, i, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	equal(t, "admitted", admitted, room)
	equal(t, "refused", refused, workers*perWorker-room)
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		q, err := tx.GetQuota(ctx, tn.ID, c.ID)
		if err != nil {
			return err
		}
		equal(t, "usage", q.Tiers[0].Used, store.Resources{CPU: room, MemoryMiB: room * 2, StorageMiB: room * 3, NetworkMbps: room * 4})
		return nil
	})
}
