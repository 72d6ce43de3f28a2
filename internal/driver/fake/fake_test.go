package fake

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	d := New("process")
	if d.Name() != "process" {
		t.Fatalf("name %q", d.Name())
	}
	if r := d.Probe(ctx); !r.Available || r.Name != "process" || r.Detail == "" {
		t.Fatalf("probe: %+v", r)
	}
	h, err := d.Start(ctx, driver.Spec{ID: "a", Command: []string{"sleep", "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != "a" || h.Driver != "process" {
		t.Fatalf("handle %+v", h)
	}
	if _, err := d.Start(ctx, driver.Spec{ID: "a"}); err == nil {
		t.Fatal("started the same instance twice")
	}
	if err := d.Recover(ctx, h); err != nil {
		t.Fatalf("recover a running instance: %v", err)
	}

	// Wait blocks while it runs.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := d.Wait(short, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait on a running instance: %v", err)
	}
	exited := make(chan driver.Exit, 1)
	go func() {
		ex, err := d.Wait(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		exited <- ex
	}()

	if err := d.Logs(ctx, "a", driver.LogOptions{Follow: true}, func(driver.LogEntry) error {
		t.Error("a log entry from the fake")
		return nil
	}); err != nil {
		t.Fatalf("logs: %v", err)
	}
	if _, err := d.Exec(ctx, "a", driver.ExecOptions{Command: []string{"true"}}); !errors.Is(err, ErrSimulated) {
		t.Fatalf("exec: %v", err)
	}
	st, err := d.Stats(ctx, "a")
	if err != nil || st.CPUNanos != 0 || st.MemoryBytes != 0 || st.At.IsZero() {
		t.Fatalf("stats: %+v, %v", st, err)
	}

	if err := d.Stop(ctx, "a", time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case ex := <-exited:
		if ex.Signal != int(syscall.SIGTERM) || ex.Code != -1 {
			t.Fatalf("exit after stop: %+v", ex)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after stop")
	}
	// An ended instance is still known: Wait answers at once, stopping it
	// again changes nothing, and it must be destroyed before a new start.
	if ex, err := d.Wait(ctx, "a"); err != nil || ex.Signal != int(syscall.SIGTERM) {
		t.Fatalf("wait after the end: %+v, %v", ex, err)
	}
	if err := d.Stop(ctx, "a", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Start(ctx, driver.Spec{ID: "a"}); err == nil {
		t.Fatal("started an instance that was not destroyed")
	}
	if err := d.Destroy(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Start(ctx, driver.Spec{ID: "a"}); err != nil {
		t.Fatalf("start again after destroy: %v", err)
	}
}

func TestDestroyEndsWait(t *testing.T) {
	ctx := context.Background()
	d := New("docker")
	if _, err := d.Start(ctx, driver.Spec{ID: "b"}); err != nil {
		t.Fatal(err)
	}
	type waited struct {
		ex  driver.Exit
		err error
	}
	exited := make(chan waited, 1)
	go func() {
		ex, err := d.Wait(ctx, "b")
		exited <- waited{ex, err}
	}()
	time.Sleep(10 * time.Millisecond) // let Wait block, as it most likely does
	if err := d.Destroy(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-exited:
		// Wait either saw the end or, called after Destroy, no instance.
		if w.ex.Signal != int(syscall.SIGKILL) && !errors.Is(w.err, driver.ErrNotFound) {
			t.Fatalf("exit after destroy: %+v, %v", w.ex, w.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after destroy")
	}
}

func TestUnknownInstances(t *testing.T) {
	ctx := context.Background()
	d := New("process")
	// Another fake (or an earlier process) started it: this one does not
	// know it.
	h, err := New("process").Start(ctx, driver.Spec{ID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Recover(ctx, h); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("recover: %v", err)
	}
	if _, err := d.Wait(ctx, "c"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("wait: %v", err)
	}
	if err := d.Stop(ctx, "c", 0); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("stop: %v", err)
	}
	if err := d.Destroy(ctx, "c"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("destroy: %v", err)
	}
	if err := d.Logs(ctx, "c", driver.LogOptions{}, nil); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("logs: %v", err)
	}
	if _, err := d.Exec(ctx, "c", driver.ExecOptions{}); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("exec: %v", err)
	}
	if _, err := d.Stats(ctx, "c"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("stats: %v", err)
	}
	if _, err := d.Start(ctx, driver.Spec{}); err == nil {
		t.Error("started a spec without an ID")
	}
}
