package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

func TestMain(m *testing.M) {
	Reexec()
	if dir := os.Getenv(agentEnv); dir != "" {
		os.Exit(runAgent(dir))
	}
	// Shims inherit this: under -race they would otherwise linger a
	// second when they exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// agentEnv makes the test binary a stand-in agent (see runAgent).
const agentEnv = "NIMBUS_PROCESS_TEST_AGENT"

// runAgent starts `sleep 60` with a driver over dir, prints the handle as
// JSON and waits to be killed.
func runAgent(dir string) int {
	d, err := New(Config{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := d.Start(context.Background(), driver.Spec{ID: uuid.NewString(), Command: []string{"sleep", "60"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(h); err != nil {
		return 1
	}
	select {}
}

// patience bounds every wait of the tests: generous, as the machine may be
// busy.
const patience = 30 * time.Second

func newDriver(t *testing.T, dir string, edit func(*Config)) *Driver {
	t.Helper()
	cfg := Config{Dir: dir, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if edit != nil {
		edit(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// isolated returns a driver that has namespaces and cgroup limits, or
// skips the test.
func isolated(t *testing.T, edit func(*Config)) *Driver {
	t.Helper()
	testreq.Root(t)
	d := newDriver(t, t.TempDir(), edit)
	if d.cgroups.version == 0 {
		testreq.Missing(t, "cgroups", "%s", d.cgroups.reason)
	}
	return d
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	return ctx
}

// start starts an instance running command and destroys it after the test.
func start(t *testing.T, d *Driver, spec driver.Spec) driver.Handle {
	t.Helper()
	if spec.ID == "" {
		spec.ID = uuid.NewString()
	}
	h, err := d.Start(ctxFor(t), spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		if err := d.Destroy(ctx, spec.ID); err != nil && !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("destroy: %v", err)
		}
	})
	return h
}

func wait(t *testing.T, d *Driver, id string) driver.Exit {
	t.Helper()
	e, err := d.Wait(ctxFor(t), id)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return e
}

// eventually polls cond until it holds or patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// output collects the instance's logs, without following, per stream.
func output(t *testing.T, d *Driver, id string, opts driver.LogOptions) map[driver.Stream]string {
	t.Helper()
	out := map[driver.Stream]string{}
	err := d.Logs(ctxFor(t), id, opts, func(e driver.LogEntry) error {
		out[e.Stream] += string(e.Data)
		return nil
	})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
