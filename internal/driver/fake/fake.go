// Package fake implements a driver that runs nothing, for scale simulation
// only: `nimbus agent --simulate` and `nimbus bench fullpath` put one in
// place of each real driver, so that one machine can play many hosts
// running many instances. It is never a default.
//
//	Start ──▶ running at once (no process, no container)
//	Wait  ◀── blocks until Stop or Destroy
//	Stop / Destroy ──▶ ends it (as SIGTERM / SIGKILL would)
//	Logs: empty; Stats: zero use; Exec: an error
//
// A fake knows only the instances started by this process: after a restart
// of the agent, Recover answers driver.ErrNotFound for every handle, and
// the agent starts them again.
package fake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// ErrSimulated is returned by Exec: a simulated instance has nothing to
// run a command in.
var ErrSimulated = errors.New("the simulated (fake) driver runs nothing: no command can run in its instances; use the process or docker driver for real workloads")

// Driver is a driver that pretends to run instances. Make one with New.
type Driver struct {
	name string

	mu   sync.Mutex
	runs map[string]*run
}

// run is one pretended instance.
type run struct {
	done chan struct{} // closed when it ends
	exit driver.Exit
}

var _ driver.Driver = (*Driver)(nil)

// New returns a fake driver answering to name ("process", "docker"), so
// that assignments meant for that driver run on it.
func New(name string) *Driver {
	return &Driver{name: name, runs: map[string]*run{}}
}

// Name is the name given to New.
func (d *Driver) Name() string { return d.name }

// Probe reports the driver available, and simulated.
func (d *Driver) Probe(context.Context) driver.Report {
	return driver.Report{Name: d.name, Available: true, Version: "simulated",
		Detail: "simulated by the fake driver: instances are reported running but nothing runs"}
}

// Start records the instance as running. An instance of the same ID must
// have been destroyed first, as with the real drivers.
func (d *Driver) Start(_ context.Context, spec driver.Spec) (driver.Handle, error) {
	if spec.ID == "" {
		return driver.Handle{}, errors.New("fake driver: the spec has no instance ID")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.runs[spec.ID]; ok {
		return driver.Handle{}, fmt.Errorf("fake driver: instance %s exists already; destroy it before starting it again", spec.ID)
	}
	d.runs[spec.ID] = &run{done: make(chan struct{})}
	return driver.Handle{ID: spec.ID, Driver: d.name}, nil
}

// Recover succeeds for an instance this driver started (in this process)
// and not yet destroyed, and answers driver.ErrNotFound otherwise.
func (d *Driver) Recover(_ context.Context, h driver.Handle) error {
	_, err := d.lookup(h.ID)
	return err
}

// Wait blocks until the instance is stopped or destroyed, or ctx ends.
func (d *Driver) Wait(ctx context.Context, id string) (driver.Exit, error) {
	r, err := d.lookup(id)
	if err != nil {
		return driver.Exit{}, err
	}
	select {
	case <-r.done:
		return r.exit, nil
	case <-ctx.Done():
		return driver.Exit{}, ctx.Err()
	}
}

// Stop ends the instance as a SIGTERM would; grace is not needed.
func (d *Driver) Stop(_ context.Context, id string, _ time.Duration) error {
	return d.end(id, syscall.SIGTERM, false)
}

// Destroy ends the instance if it runs (as a SIGKILL would) and forgets it.
func (d *Driver) Destroy(_ context.Context, id string) error {
	return d.end(id, syscall.SIGKILL, true)
}

// end ends instance id as signal sig would, and forgets it if asked.
func (d *Driver) end(id string, sig syscall.Signal, forget bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.runs[id]
	if !ok {
		return driver.ErrNotFound
	}
	r.end(sig)
	if forget {
		delete(d.runs, id)
	}
	return nil
}

// Logs has no entries to give: nothing ran.
func (d *Driver) Logs(_ context.Context, id string, _ driver.LogOptions, _ func(driver.LogEntry) error) error {
	_, err := d.lookup(id)
	return err
}

// Exec fails with ErrSimulated.
func (d *Driver) Exec(_ context.Context, id string, _ driver.ExecOptions) (int, error) {
	if _, err := d.lookup(id); err != nil {
		return -1, err
	}
	return -1, fmt.Errorf("exec in instance %s: %w", id, ErrSimulated)
}

// Stats reports zero use.
func (d *Driver) Stats(_ context.Context, id string) (driver.Stats, error) {
	if _, err := d.lookup(id); err != nil {
		return driver.Stats{}, err
	}
	return driver.Stats{At: time.Now()}, nil
}

// lookup finds a known instance.
func (d *Driver) lookup(id string) (*run, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.runs[id]
	if !ok {
		return nil, driver.ErrNotFound
	}
	return r, nil
}

// end ends the run, if it still runs, as if by sig; d.mu is held.
func (r *run) end(sig syscall.Signal) {
	select {
	case <-r.done:
		return
	default:
	}
	r.exit = driver.Exit{Code: -1, Signal: int(sig), At: time.Now()}
	close(r.done)
}
