package agent

import (
	"context"
	"io"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/agent/health"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// healthResult is a transition reported by the health monitor of a run.
type healthResult struct {
	change health.Change
	err    error
}

// healthTarget says how the health check reaches the instance: its ports
// through their host mappings on the loopback address, commands through
// the driver.
func (in *instance) healthTarget(drv driver.Driver, spec api.InstanceSpec) health.Target {
	return health.Target{
		HostPorts: hostPorts(spec),
		Exec: func(ctx context.Context, command []string, out io.Writer) (int, error) {
			return drv.Exec(ctx, in.id, driver.ExecOptions{Command: command, Stdout: out, Stderr: out})
		},
	}
}

// startHold is the longest a run holds its start slot waiting for the
// first verdict of its health check: the first probe after the start
// period comes at most an interval after it, and ends within its timeout.
// A run whose probes hang longer frees its slot all the same.
func startHold(c health.Check) time.Duration { return c.StartPeriod + c.Interval + c.Timeout }

// healthChanged acts on a health transition of the live run. The first
// pass, or the first failure after the start period, ends the run's start
// (it is running, and frees its start slot). An unhealthy instance is
// restarted (stopped, then started after the back-off) unless its restart
// policy is never; healthChanged reports whether the run ended.
func (in *instance) healthChanged(ctx context.Context, drv driver.Driver, h healthResult, exits <-chan waitResult) bool {
	switch h.change {
	case health.Passed:
		in.started("")
		in.save()
		return false
	case health.Failing:
		in.started("not passing its health check yet: " + h.err.Error())
		in.save()
		return false
	case health.BecameHealthy:
		in.setStatus(api.InstanceStatusRunning, "")
		in.event("healthy", "passing its health check again")
		in.save()
		return false
	}
	reason := "failing its health check: " + h.err.Error()
	in.setStatus(api.InstanceStatusUnhealthy, reason)
	in.a.slots.release(in)
	in.event("unhealthy", reason)
	in.save()
	if !policyOf(in.assignment().Spec).restarts(true) {
		return false
	}
	in.stopRun(ctx, drv, stopPlanned{grace: in.a.cfg.StopGrace, status: api.InstanceStatusUnhealthy, message: reason}, exits)
	if ctx.Err() != nil || in.isLive() {
		return true
	}
	in.afterEnd(api.InstanceStatusFailed, reason, true, true)
	return true
}

// started ends the start of the live run: it is running (msg says more,
// if anything) and frees its start slot. A run re-attached after an agent
// restart holds no slot, and leaves starting alike.
func (in *instance) started(msg string) {
	if in.a.slots.settle(in, api.InstanceStatusRunning, msg) {
		return
	}
	in.mu.Lock()
	starting := in.rec.Status == api.InstanceStatusStarting
	in.mu.Unlock()
	if starting {
		in.setStatus(api.InstanceStatusRunning, msg)
	}
}
