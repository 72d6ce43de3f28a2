package agent

import (
	"context"
	"io"

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

// healthChanged acts on a health transition of the live run. An unhealthy
// instance is restarted (stopped, then started after the back-off) unless
// its restart policy is never; healthChanged reports whether the run ended.
func (in *instance) healthChanged(ctx context.Context, drv driver.Driver, h healthResult, exits <-chan waitResult) bool {
	if h.change == health.BecameHealthy {
		in.setStatus(api.InstanceStatusRunning, "")
		in.event("healthy", "passing its health check again")
		in.save()
		return false
	}
	reason := "failing its health check: " + h.err.Error()
	in.setStatus(api.InstanceStatusUnhealthy, reason)
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
