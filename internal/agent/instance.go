package agent

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// instance is one assignment on this host. Its supervisor goroutine drives
// it; the reconciler changes its assignment; the heartbeat reads its report.
type instance struct {
	a    *Agent
	id   string
	log  *slog.Logger
	wake chan struct{} // something changed: look again
	done chan struct{} // closed when the supervisor returns

	// recovering is true until an earlier agent's handle has been given
	// back to the driver. Only the supervisor touches it.
	recovering bool

	mu      sync.Mutex
	rec     record
	removed bool // no longer assigned: stop, destroy, forget
}

// maxMessage bounds messages sent to the server (the API's limit).
const maxMessage = 4096

// newInstance makes the instance of a record, not yet supervised.
func (a *Agent) newInstance(r record) *instance {
	return &instance{
		a:          a,
		id:         r.Assignment.ID,
		log:        a.log.With("instance", r.Assignment.ID, "name", r.Assignment.Name, "generation", r.Assignment.Generation),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		recovering: r.Handle != nil,
		rec:        r,
	}
}

// assigned makes the instance of a new assignment, received at now. One
// to run is put in line for a start slot at once, so that the instances of
// one answer start in ID order whichever supervisor runs first.
func (a *Agent) assigned(asg api.Assignment, now time.Time) *instance {
	r := record{Assignment: asg, AppliedRestartSeq: asg.RestartSeq, Status: api.InstanceStatusStopped}
	if asg.Desired == api.DesiredStateRunning {
		// Placed, not yet started: idle starts it once allowed.
		r.NextStart = &now
		r.Status = api.InstanceStatusScheduled
	}
	in := a.newInstance(r)
	in.save()
	if r.NextStart != nil {
		a.slots.enqueue(in, now)
	}
	return in
}

// loadInstances makes the instances of the records an earlier agent left.
func (a *Agent) loadInstances() ([]*instance, error) {
	recs, err := loadRecords(a.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	out := make([]*instance, 0, len(recs))
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for _, r := range recs {
		in := a.newInstance(r)
		a.instances[in.id] = in
		out = append(out, in)
		if r.Handle == nil && r.NextStart != nil && !r.NextStart.After(now) {
			a.slots.enqueue(in, *r.NextStart)
		}
	}
	return out, nil
}

// supervise starts the instance's supervisor.
func (a *Agent) supervise(ctx context.Context, in *instance) {
	a.supervisors.Go(func() { in.supervise(ctx) })
}

// instanceList is every instance, in no order.
func (a *Agent) instanceList() []*instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.instanceListLocked()
}

func (a *Agent) instanceListLocked() []*instance {
	out := make([]*instance, 0, len(a.instances))
	for _, in := range a.instances {
		out = append(out, in)
	}
	return out
}

// instanceCount is the number of instances.
func (a *Agent) instanceCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.instances)
}

// lookup finds an instance by ID.
func (a *Agent) lookup(id string) (*instance, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[id]
	return in, ok
}

// update gives the instance a new version of its assignment (same
// generation).
func (in *instance) update(asg api.Assignment) {
	in.mu.Lock()
	changed := !reflect.DeepEqual(in.rec.Assignment, asg)
	in.rec.Assignment = asg
	in.mu.Unlock()
	if changed {
		in.save()
		poke(in.wake)
	}
}

// remove tells the supervisor to stop and destroy the instance.
func (in *instance) remove() {
	in.mu.Lock()
	in.removed = true
	in.mu.Unlock()
	poke(in.wake)
}

func (in *instance) isRemoved() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.removed
}

func (in *instance) isLive() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rec.Live
}

func (in *instance) assignment() api.Assignment {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rec.Assignment
}

func (in *instance) generation() int64 { return in.assignment().Generation }

// driver is the driver the instance's spec names.
func (in *instance) driver() (driver.Driver, error) {
	name := string(in.assignment().Spec.Driver)
	d, ok := in.a.drivers[name]
	if !ok {
		return nil, fmt.Errorf("no %q driver on this host", name)
	}
	return d, nil
}

// setStatus changes the reported status and message; a new status is
// reported at once.
func (in *instance) setStatus(st api.InstanceStatus, msg string) {
	in.mu.Lock()
	changed := in.rec.Status != st
	in.rec.Status, in.rec.Message = st, clip(msg)
	in.mu.Unlock()
	if changed {
		poke(in.a.wakeReport)
	}
}

// event records an event of the instance and logs it.
func (in *instance) event(typ, msg string) {
	in.log.Info("instance "+typ, "message", msg)
	in.a.event(in.id, in.generation(), typ, clip(msg))
}

// save persists the instance's record.
func (in *instance) save() {
	in.mu.Lock()
	r := in.rec
	in.mu.Unlock()
	if err := saveRecord(in.a.cfg.StateDir, r); err != nil {
		in.log.Error("save instance state", "err", err)
	}
}

// report is the instance's status as the heartbeat sends it.
func (in *instance) report() api.InstanceReport {
	in.mu.Lock()
	defer in.mu.Unlock()
	r := in.rec
	rep := api.InstanceReport{
		ID:         in.id,
		Generation: r.Assignment.Generation,
		Status:     r.Status,
		OomKilled:  &r.OOMKilled,
		Restarts:   &r.Restarts,
	}
	if r.ExitCode != nil {
		code := *r.ExitCode
		rep.ExitCode = &code
	}
	if r.Message != "" {
		rep.Message = &r.Message
	}
	if r.StartedAt != nil {
		at := r.StartedAt.UTC()
		rep.StartedAt = &at
	}
	return rep
}

// describeExit says how a run ended: its status, event type and message,
// and whether it counts as a failure for the restart policy.
func describeExit(ex driver.Exit, memoryMiB int64) (api.InstanceStatus, string, string, bool) {
	switch {
	case ex.Err != nil:
		return api.InstanceStatusFailed, "failed", "lost track of it: " + ex.Err.Error(), true
	case ex.OOMKilled:
		return api.InstanceStatusFailed, "oom_killed", fmt.Sprintf("killed for exceeding its memory limit of %d MiB", memoryMiB), true
	case ex.Signal != 0:
		return api.InstanceStatusFailed, "failed", fmt.Sprintf("killed by signal %d (%s)", ex.Signal, signalName(ex.Signal)), true
	case ex.Code == 0:
		return api.InstanceStatusExited, "exited", "exited with code 0", false
	default:
		return api.InstanceStatusFailed, "failed", fmt.Sprintf("exited with code %d", ex.Code), true
	}
}

// clip bounds a message to the API's limit, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	return strings.ToValidUTF8(s[:maxMessage-3], "") + "..."
}

// signalName names a signal ("killed", "terminated").
func signalName(sig int) string { return syscall.Signal(sig).String() }
