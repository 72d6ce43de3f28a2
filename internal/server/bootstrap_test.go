package server_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/hostinfo"
	"github.com/nimbus-cloud/nimbus/internal/server"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
)

// TestBootstrapIsIdempotent starts a store three times, as `nimbus dev`
// restarts do: the admin, the default cluster and this machine's host are
// created once, the host is refreshed only when it changed, and every
// change is audited.
func TestBootstrapIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "n.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	info := hostinfo.Info{Hostname: "Build-Box", CPUCores: 4, MemoryMiB: 8192, DiskMiB: 100000, NetworkMbps: 1000,
		OS: "linux", Arch: "amd64", Address: "127.0.0.1"}
	first, err := server.Bootstrap(ctx, st, server.BootstrapOptions{LocalHost: &info})
	if err != nil {
		t.Fatal(err)
	}
	if !first.AdminCreated || first.GeneratedPassword == "" || first.HostName != "build-box" {
		t.Fatalf("first start: %+v", first)
	}
	again, err := server.Bootstrap(ctx, st, server.BootstrapOptions{LocalHost: &info})
	if err != nil || again.AdminCreated || again.GeneratedPassword != "" {
		t.Fatalf("second start: %+v, %v", again, err)
	}
	info.MemoryMiB = 16384
	if _, err := server.Bootstrap(ctx, st, server.BootstrapOptions{LocalHost: &info}); err != nil {
		t.Fatal(err)
	}
	err = st.Read(ctx, func(tx store.Tx) error {
		h, err := tx.GetHostByName(ctx, "build-box")
		if err != nil {
			return err
		}
		if h.Capacity.MemoryMiB != 16384 {
			t.Errorf("host memory %d after the machine grew, want 16384", h.Capacity.MemoryMiB)
		}
		recs, _, err := tx.ListAudit(ctx, store.AuditFilter{ObjectType: "host"})
		if len(recs) != 2 || recs[0].Action != "host.update" || recs[1].Action != "host.create" {
			t.Errorf("host audit %+v, want one create and one update", recs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
