package process

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// TestOrphanAfterLostHandle starts instances with one driver and forgets
// it, as an agent that died before keeping the handles: a new driver over
// the same directory destroys one, and starts the other afresh, without
// leaving the old workloads running.
func TestOrphanAfterLostHandle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newDriver(t, dir, nil)
	marker := "NIMBUS_ORPHAN_TEST=" + uuid.NewString()
	spec := func() driver.Spec {
		return driver.Spec{ID: uuid.NewString(), Command: []string{"sleep", "60"}, Env: []string{marker}}
	}
	destroyed, restarted, empty := spec(), spec(), spec()
	b := newDriver(t, dir, nil)
	t.Cleanup(func() {
		for _, s := range []driver.Spec{destroyed, restarted} {
			_ = b.Destroy(context.Background(), s.ID)
		}
	})
	ctx := ctxFor(t)
	var old []*instance
	for _, s := range []driver.Spec{destroyed, restarted} {
		if _, err := a.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		inst, _ := a.get(s.ID)
		old = append(old, inst)
	}
	if n := len(withEnv(t, marker)); n != 2 {
		t.Fatalf("%d workloads with the marker, want 2", n)
	}

	if err := b.Destroy(ctx, destroyed.ID); err != nil {
		t.Fatalf("destroy unknown instance: %v", err)
	}
	if p, err := procStat(old[0].st.PID); err == nil && p.State != "Z" {
		t.Errorf("workload %d survived Destroy", old[0].st.PID)
	}
	if _, err := os.Stat(filepath.Join(dir, destroyed.ID)); !os.IsNotExist(err) {
		t.Errorf("directory after Destroy: %v", err)
	}

	start(t, b, restarted)
	inst, err := b.get(restarted.ID)
	if err != nil {
		t.Fatal(err)
	}
	pids := withEnv(t, marker)
	if len(pids) != 1 || pids[0] != inst.st.PID {
		t.Errorf("workloads with the marker %v, want only the new one, %d", pids, inst.st.PID)
	}
	if alive(old[1].st.ShimPID, old[1].st.ShimStart) {
		t.Errorf("old shim %d survived the new start", old[1].st.ShimPID)
	}

	// An agent that died before even writing shim.json leaves a bare
	// directory.
	if err := os.Mkdir(filepath.Join(dir, empty.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	start(t, b, empty)
}

// withEnv lists the running processes whose environment holds kv.
func withEnv(t *testing.T, kv string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(env, 0), []byte(kv+"\x00")) {
			continue
		}
		if p, err := procStat(pid); err == nil && p.State != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}
