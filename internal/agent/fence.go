package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fenceGrace is the time a fenced instance has to end before it is killed.
const fenceGrace = time.Second

// LeasePath is the lease file in a state directory: the decimal unix time
// in nanoseconds after which, without news from the server, the agent's
// instances must no longer run. The process driver's shims read it (give it
// as process.Config.LeasePath) and kill their workloads when it lapses, even
// if the agent itself is gone.
func LeasePath(stateDir string) string { return filepath.Join(stateDir, "lease") }

// lease is the agent's right to run instances, renewed by each successful
// heartbeat.
type lease struct {
	// deadline is the send time of the last successful heartbeat plus the
	// fence timeout; zero before the first one (of this state directory).
	deadline time.Time
	// fenced is set when the deadline passed and the instances were
	// stopped; cleared by the next successful heartbeat.
	fenced bool
	// epoch counts the times contact with the server was gained (first
	// heartbeat, or the first after the deadline passed).
	epoch uint64
	// synced is the epoch of the last reconcile whose assignments were
	// fetched after contact was gained. Nothing starts until synced equals
	// epoch: instances may have moved elsewhere during the silence.
	synced uint64
}

// restoreLease takes up the deadline an earlier agent left in the lease
// file, so that a restart does not extend the time instances may run
// without contact.
func (a *Agent) restoreLease() {
	data, err := os.ReadFile(LeasePath(a.cfg.StateDir))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			a.log.Warn("read lease", "err", err)
		}
		return
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		a.log.Warn("unreadable lease file: fencing now", "err", err)
		ns = 1
	}
	a.mu.Lock()
	a.lease.deadline = time.Unix(0, ns)
	a.mu.Unlock()
}

// writeLease saves the deadline for the shims of the process driver. It
// need not survive a crash of the machine, which ends the workloads too.
func (a *Agent) writeLease(deadline time.Time) {
	data := []byte(strconv.FormatInt(deadline.UnixNano(), 10))
	if err := writeFileAtomic(LeasePath(a.cfg.StateDir), data, 0o644, false); err != nil {
		a.log.Error("write lease: workloads will be killed when the previous lease lapses", "err", err)
	}
}

// renewLease records a successful heartbeat sent at sent, returns the
// lease's deadline and reports whether the heartbeat regained contact (the
// first heartbeat, or one after the deadline passed), in which case nothing
// may start before the next reconcile.
func (a *Agent) renewLease(sent time.Time, fence time.Duration) (deadline time.Time, regained bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := &a.lease
	regained = l.epoch == 0 || l.fenced || !sent.Before(l.deadline)
	if regained {
		l.epoch++
	}
	l.fenced = false
	// The deadline is what the server granted this time, even when that is
	// earlier than before: the server's down detection counts from it, so
	// a shortened heartbeat timeout shortens the lease at once.
	l.deadline = sent.Add(fence)
	return l.deadline, regained
}

// fenceLoop stops every instance when the lease lapses.
func (a *Agent) fenceLoop(ctx context.Context) {
	for {
		a.mu.Lock()
		deadline, fenced := a.lease.deadline, a.lease.fenced
		a.mu.Unlock()
		wait := time.Duration(-1) // until woken
		if !deadline.IsZero() && !fenced {
			if wait = deadline.Sub(a.now()); wait <= 0 {
				a.fence()
				continue
			}
		}
		if !waitFor(ctx, wait, a.wakeFence) {
			return
		}
	}
}

// fence marks the agent fenced if the lease has lapsed and tells every
// supervisor, which stops its instance.
func (a *Agent) fence() {
	a.mu.Lock()
	if a.lease.fenced || a.now().Before(a.lease.deadline) {
		a.mu.Unlock()
		return
	}
	a.lease.fenced = true
	silence := a.silenceLocked()
	ins := a.instanceListLocked()
	a.mu.Unlock()
	a.log.Warn("no contact with the server: fencing, every instance stops", "silence", silence, "instances", len(ins))
	for _, in := range ins {
		poke(in.wake)
	}
}

// silenceLocked is the time since the last successful heartbeat.
func (a *Agent) silenceLocked() time.Duration {
	fence := time.Duration(a.timings.FenceTimeoutMs) * time.Millisecond
	return a.now().Sub(a.lease.deadline.Add(-fence)).Round(100 * time.Millisecond)
}

// fenced reports whether instances must stop for want of contact (the
// lease lapsed, whether or not the fence loop has acted yet), and the
// message that says so.
func (a *Agent) fenced() (bool, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.lease
	if !l.fenced && (l.deadline.IsZero() || a.now().Before(l.deadline)) {
		return false, ""
	}
	return true, fmt.Sprintf("no contact with the server for %s: stopped so that it can run elsewhere", a.silenceLocked())
}

// mayStart reports whether instances may start: the lease is valid and the
// assignments were read since contact was (re)gained.
func (a *Agent) mayStart() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.lease
	return !l.fenced && l.epoch > 0 && l.synced == l.epoch && a.now().Before(l.deadline)
}

// contactEpoch is the current contact epoch.
func (a *Agent) contactEpoch() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lease.epoch
}

// syncState is the current contact epoch, and whether assignments were
// read in it.
func (a *Agent) syncState() (epoch uint64, synced bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lease.epoch, a.lease.synced == a.lease.epoch
}

// markSynced records a reconcile of assignments fetched in epoch, and
// reports whether instances may start now where they could not before.
func (a *Agent) markSynced(epoch uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if epoch != a.lease.epoch || a.lease.synced == epoch {
		return false
	}
	a.lease.synced = epoch
	return true
}
