package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/agent/health"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// recoverRetryDelay is the wait before asking a driver again to re-attach
// to an instance after an error other than "not found".
const recoverRetryDelay = 5 * time.Second

// restartResetAfter is how long a run must last for the back-off to start
// over.
const restartResetAfter = 60 * time.Second

// supervise drives the instance until it is removed or ctx ends. When ctx
// ends the workload is left as it is, for the next agent to re-attach.
func (in *instance) supervise(ctx context.Context) {
	defer close(in.done)
	// A supervisor that ends leaves the line and its slot to the others.
	defer in.a.slots.release(in)
	defer in.a.slots.withdraw(in)
	for ctx.Err() == nil {
		switch {
		case in.recovering:
			in.recover(ctx)
		case in.isLive():
			in.watch(ctx)
		case in.isRemoved():
			in.a.slots.withdraw(in)
			in.destroy(ctx)
			return
		default:
			in.idle(ctx)
		}
	}
}

// recover gives the handle of an earlier agent back to the driver. A
// workload that is gone counts as a run that failed.
func (in *instance) recover(ctx context.Context) {
	in.mu.Lock()
	h := *in.rec.Handle
	in.mu.Unlock()
	drv, err := in.driver()
	if err == nil {
		err = drv.Recover(ctx, h)
	}
	switch {
	case err == nil:
		in.recovering = false
		in.log.Info("re-attached", "live", in.isLive())
	case errors.Is(err, driver.ErrNotFound):
		in.recovering = false
		in.vanished()
	case ctx.Err() != nil:
	case in.isRemoved():
		in.log.Warn("cannot re-attach to a removed instance; destroying it anyway", "err", err)
		in.recovering = false
		in.mu.Lock()
		in.rec.Live = false
		in.mu.Unlock()
	default:
		in.setStatus(api.InstanceStatusFailed, "re-attach after an agent restart: "+err.Error())
		in.log.Warn("re-attach failed; trying again", "err", err, "in", recoverRetryDelay)
		waitFor(ctx, recoverRetryDelay, in.wake)
	}
}

// vanished handles an instance whose workload the driver no longer knows
// after an agent restart (the machine rebooted, say): a run that was going
// is started again if the instance is still meant to run, whatever its
// restart policy, since the workload did not fail.
func (in *instance) vanished() {
	now := in.a.now()
	in.mu.Lock()
	r := &in.rec
	wasLive := r.Live
	r.Handle, r.Live = nil, false
	again := wasLive && r.Assignment.Desired == api.DesiredStateRunning
	if again {
		r.Restarts++
		r.NextStart = &now
		r.Status, r.Message = api.InstanceStatusRestarting, "gone when the agent restarted: starting it again"
	}
	in.mu.Unlock()
	in.log.Info("gone since the last agent ran", "was_running", wasLive)
	if again {
		in.event("restarting", "gone when the agent restarted: starting it again")
	}
	in.save()
}

// idle handles an instance with no run going: it settles a stopped
// instance, acts on restart requests and starts the instance when a start
// is due and allowed and a start slot is its (see startSlots).
func (in *instance) idle(ctx context.Context) {
	now := in.a.now()
	in.mu.Lock()
	r := &in.rec
	asg := r.Assignment
	changed, requested := false, false
	switch {
	case asg.Desired != api.DesiredStateRunning:
		if r.NextStart != nil || r.Status != api.InstanceStatusStopped {
			r.NextStart = nil
			r.Status, r.Message = api.InstanceStatusStopped, "stopped on request"
			changed = true
		}
	case asg.RestartSeq > r.AppliedRestartSeq:
		r.AppliedRestartSeq = asg.RestartSeq
		r.InARow = 0
		r.NextStart = &now
		changed, requested = true, true
	case r.NextStart == nil && r.Status == api.InstanceStatusStopped:
		// Stopped on request, and wanted running again.
		r.InARow = 0
		r.NextStart = &now
		changed = true
	}
	next := r.NextStart
	in.mu.Unlock()
	if requested {
		in.event("restarting", "restart requested")
	}
	if changed {
		in.save()
	}
	wait := time.Duration(-1)
	switch {
	case next == nil || next.After(now):
		// No start due: no place in line for a start slot.
		in.a.slots.withdraw(in)
		if next != nil && in.a.mayStart() {
			wait = next.Sub(now)
		}
	case !in.a.mayStart():
		// Due, but nothing may start now: keep its place in line.
		in.a.slots.enqueue(in, *next)
	case in.a.slots.acquire(in, *next):
		in.start(ctx)
		return
	}
	waitFor(ctx, wait, in.wake)
}

// start starts a run of the instance, which holds a start slot (and is
// starting). The slot is freed when the start fails, or once the driver
// has started the run, unless a health check must give its first verdict
// first: watch frees it then.
func (in *instance) start(ctx context.Context) {
	slots := in.a.slots
	asg := in.assignment()
	drv, err := in.driver()
	if err != nil {
		in.startFailed(err)
		slots.release(in)
		return
	}
	// A run that ended stays with the driver (its logs can be read) until
	// the next start replaces it.
	if err := drv.Destroy(ctx, in.id); err != nil && !errors.Is(err, driver.ErrNotFound) && ctx.Err() == nil {
		in.log.Warn("remove the previous run", "err", err)
	}
	h, err := drv.Start(ctx, driverSpec(asg))
	if err != nil {
		if ctx.Err() == nil {
			in.startFailed(fmt.Errorf("start: %w", err))
		}
		slots.release(in)
		return
	}
	_, checked := healthCheckOf(asg.Spec)
	now := in.a.now()
	in.mu.Lock()
	r := &in.rec
	r.Handle, r.Live, r.NextStart = &h, true, nil
	r.StartedAt, r.ExitCode, r.OOMKilled = &now, nil, false
	if checked {
		r.Status, r.Message = api.InstanceStatusStarting, "started; waiting for its health check to pass"
	} else {
		r.Status, r.Message = api.InstanceStatusRunning, ""
	}
	in.mu.Unlock()
	in.save()
	in.event("running", "started by the "+drv.Name()+" driver")
	if !checked {
		slots.release(in)
	}
}

// waitResult is what a driver's Wait answered.
type waitResult struct {
	exit driver.Exit
	err  error
}

// watch follows a live run until it ends or must be stopped.
func (in *instance) watch(ctx context.Context) {
	drv, err := in.driver()
	if err != nil {
		in.runEnded(driver.Exit{Code: -1, Err: err}, false)
		return
	}
	asg := in.assignment()
	in.mu.Lock()
	started := in.a.now()
	if in.rec.StartedAt != nil {
		started = *in.rec.StartedAt
	}
	in.mu.Unlock()

	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	exits := make(chan waitResult, 1)
	wg.Go(func() {
		ex, err := drv.Wait(wctx, in.id)
		exits <- waitResult{ex, err}
	})
	defer in.a.slots.release(in)
	checks := make(chan healthResult)
	// holdEnds fires when the run has held its start slot for hold
	// without a verdict of its health check.
	var holdEnds <-chan time.Time
	var hold time.Duration
	if check, ok := healthCheckOf(asg.Spec); ok {
		target := in.healthTarget(drv, asg.Spec)
		wg.Go(func() {
			health.Watch(wctx, check, target, started, in.a.now, func(c health.Change, err error) {
				select {
				case checks <- healthResult{c, err}:
				case <-wctx.Done():
				}
			})
		})
		if in.a.slots.holds(in) {
			hold = startHold(check)
			t := time.NewTimer(started.Add(hold).Sub(in.a.now()))
			defer t.Stop()
			holdEnds = t.C
		}
	}
	for {
		if plan, ok := in.stopPlan(); ok {
			in.stopRun(ctx, drv, plan, exits)
			return
		}
		select {
		case <-ctx.Done():
			return
		case r := <-exits:
			if ctx.Err() != nil {
				return
			}
			if plan, ok := in.fencePlan(); ok {
				// The shims of the process driver obey the lease too and
				// may have been first.
				in.beginStop(plan)
				in.finishStop(plan, r)
				return
			}
			ex := r.exit
			if r.err != nil {
				ex = driver.Exit{Code: -1, Err: r.err}
			}
			in.runEnded(ex, true)
			return
		case <-in.wake:
		case <-holdEnds:
			holdEnds = nil
			in.started(fmt.Sprintf("no verdict from its health check within %s of the start; counted as started", hold))
		case h := <-checks:
			if in.healthChanged(ctx, drv, h, exits) {
				return
			}
		}
	}
}

// stopPlanned says why and how a live run must stop.
type stopPlanned struct {
	grace   time.Duration
	status  api.InstanceStatus // once stopped
	event   string             // recorded when the stop begins; "" for none
	message string
	restart bool // start again as soon as allowed
	// restartSeq is the restart request the stop acts on, 0 for none.
	restartSeq int64
}

// stopPlan reports whether the live run must stop, and how.
func (in *instance) stopPlan() (stopPlanned, bool) {
	grace := in.a.cfg.StopGrace
	in.mu.Lock()
	removed := in.removed
	asg := in.rec.Assignment
	restartRequested := asg.RestartSeq > in.rec.AppliedRestartSeq
	in.mu.Unlock()
	running := asg.Desired == api.DesiredStateRunning
	if removed {
		return stopPlanned{grace: grace, status: api.InstanceStatusStopping, message: "no longer assigned to this host"}, true
	}
	if plan, ok := in.fencePlan(); ok {
		return plan, true
	}
	switch {
	case !running:
		return stopPlanned{grace: grace, status: api.InstanceStatusStopped, event: "stopped", message: "stopped on request"}, true
	case restartRequested:
		return stopPlanned{grace: grace, status: api.InstanceStatusRestarting, event: "restarting", message: "restart requested", restart: true, restartSeq: asg.RestartSeq}, true
	}
	return stopPlanned{}, false
}

// fencePlan reports whether the run must stop because the lease lapsed.
func (in *instance) fencePlan() (stopPlanned, bool) {
	fenced, msg := in.a.fenced()
	if !fenced {
		return stopPlanned{}, false
	}
	running := in.assignment().Desired == api.DesiredStateRunning
	return stopPlanned{grace: fenceGrace, status: api.InstanceStatusStopped, event: "fenced", message: msg, restart: running}, true
}

// stopRun stops the live run and waits for its end.
func (in *instance) stopRun(ctx context.Context, drv driver.Driver, plan stopPlanned, exits <-chan waitResult) {
	in.beginStop(plan)
	if err := drv.Stop(ctx, in.id, plan.grace); err != nil && !errors.Is(err, driver.ErrNotFound) {
		if ctx.Err() == nil {
			in.log.Error("stop failed; trying again", "err", err)
			waitFor(ctx, time.Second, nil)
		}
		return
	}
	select {
	case r := <-exits:
		in.finishStop(plan, r)
	case <-ctx.Done():
	}
}

// beginStop reports the stop of a run as under way.
func (in *instance) beginStop(plan stopPlanned) {
	in.setStatus(api.InstanceStatusStopping, plan.message)
	if plan.event != "" {
		in.event(plan.event, plan.message)
	}
}

// finishStop records the end of a run stopped according to plan.
func (in *instance) finishStop(plan stopPlanned, r waitResult) {
	now := in.a.now()
	in.mu.Lock()
	rec := &in.rec
	rec.Live = false
	if r.err == nil {
		code := r.exit.Code
		rec.ExitCode, rec.OOMKilled = &code, r.exit.OOMKilled
	}
	rec.Status, rec.Message = plan.status, clip(plan.message)
	if plan.restartSeq > 0 {
		rec.AppliedRestartSeq = plan.restartSeq
	}
	if plan.restart {
		rec.InARow = 0
		rec.NextStart = &now
	} else {
		rec.NextStart = nil
	}
	in.mu.Unlock()
	in.save()
}

// runEnded records the end of a run (ran: it had started, as opposed to a
// workload found gone after an agent restart) and applies the restart
// policy.
func (in *instance) runEnded(ex driver.Exit, ran bool) {
	asg := in.assignment()
	st, typ, msg, failed := describeExit(ex, derefOr(asg.Spec.MemoryMib, defaultMemoryMiB))
	in.mu.Lock()
	in.rec.Live = false
	if ex.Err == nil {
		code := ex.Code
		in.rec.ExitCode, in.rec.OOMKilled = &code, ex.OOMKilled
	}
	in.mu.Unlock()
	in.event(typ, msg)
	in.afterEnd(st, msg, failed, ran)
}

// startFailed records a start that failed and applies the restart policy.
func (in *instance) startFailed(err error) {
	in.event("failed", err.Error())
	in.afterEnd(api.InstanceStatusFailed, err.Error(), true, false)
}

// afterEnd sets the status of an ended run and, if the restart policy says
// so, schedules the next start with back-off.
func (in *instance) afterEnd(st api.InstanceStatus, msg string, failed, ran bool) {
	now := in.a.now()
	in.mu.Lock()
	r := &in.rec
	asg := r.Assignment
	if ran && r.StartedAt != nil && now.Sub(*r.StartedAt) >= restartResetAfter {
		r.InARow = 0
	}
	p := policyOf(asg.Spec)
	restart := asg.Desired == api.DesiredStateRunning && p.restarts(failed)
	if restart && p.maxRetries > 0 && r.InARow >= p.maxRetries {
		restart = false
		msg += fmt.Sprintf("; gave up after %d restarts in a row", r.InARow)
	}
	var restarting string
	r.NextStart = nil
	if restart {
		r.InARow++
		r.Restarts++
		d := p.delay(r.InARow)
		next := now.Add(d)
		r.NextStart = &next
		restarting = fmt.Sprintf("restarting in %s (attempt %d)", d, r.InARow)
		st, msg = api.InstanceStatusRestarting, msg+"; "+restarting
	}
	r.Status, r.Message = st, clip(msg)
	in.mu.Unlock()
	if restart {
		in.event("restarting", restarting)
	}
	in.save()
}

// destroy removes a stopped instance that is no longer assigned and forgets
// it. If ctx ends first, the record stays for the next agent to finish.
func (in *instance) destroy(ctx context.Context) {
	if drv, err := in.driver(); err == nil {
		if err := drv.Destroy(ctx, in.id); err != nil && !errors.Is(err, driver.ErrNotFound) {
			if ctx.Err() != nil {
				return
			}
			in.log.Error("destroy", "err", err)
		}
	}
	if ctx.Err() != nil {
		return
	}
	in.event("stopped", "no longer assigned to this host")
	if err := removeRecord(in.a.cfg.StateDir, in.id); err != nil {
		in.log.Error("forget instance", "err", err)
	}
}
