package agent

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// A restarted agent re-attaches to the workloads of the previous one:
// nothing is killed, nothing runs twice, supervision goes on.
func TestAgentRestartKeepsWorkloads(t *testing.T) {
	s := newFakeServer(t)
	s.setTimings(api.AgentTimings{HeartbeatIntervalMs: 200, FenceTimeoutMs: 30_000, HeartbeatTimeoutMs: 60_000})
	ta := startAgent(t, s)
	steady := assignment("steady", "sleep", "1000")
	done := assignment("done", "true")
	s.assign(steady)
	s.assign(done)
	s.waitStatus(t, steady.ID, api.InstanceStatusRunning)
	s.waitStatus(t, done.ID, api.InstanceStatusExited)
	pid := ta.hostPID(t, steady.ID)

	ta.stop(t)
	if !alive(pid) {
		t.Fatal("stopping the agent stopped its workload")
	}
	cfg := ta.cfg
	cfg.JoinToken = ""
	cfg.Drivers = []driver.Driver{newProcessDriver(t, cfg.StateDir, cfg.Logger)}
	tb := start(t, cfg)
	before := s.heartbeatCount()
	eventually(t, "heartbeats of the new agent", func() bool { return s.heartbeatCount() > before+5 })

	r := s.waitStatus(t, steady.ID, api.InstanceStatusRunning)
	if got := tb.hostPID(t, steady.ID); got != pid || !alive(pid) {
		t.Fatalf("pid %d after the restart, %d before", got, pid)
	}
	if deref(r.Restarts) != 0 || s.countEvents(steady.ID, "running") != 1 {
		t.Errorf("the instance was started again: %+v, events %+v", r, s.eventsOf(steady.ID))
	}
	if s.countEvents(done.ID, "exited") != 1 || s.countEvents(done.ID, "running") != 1 {
		t.Errorf("the exited instance ran again: %+v", s.eventsOf(done.ID))
	}

	// Supervision goes on: the new agent stops it on request.
	s.edit(steady.ID, func(a *api.Assignment) { a.Desired = api.DesiredStateStopped })
	s.waitStatus(t, steady.ID, api.InstanceStatusStopped)
	eventually(t, "the workload stopped", func() bool { return !alive(pid) })
}

// A workload gone while no agent ran (the machine rebooted, say) is
// started again by the next agent, whatever its restart policy.
func TestAgentRestartStartsVanishedWorkloads(t *testing.T) {
	s := newFakeServer(t)
	s.setTimings(api.AgentTimings{HeartbeatIntervalMs: 200, FenceTimeoutMs: 30_000, HeartbeatTimeoutMs: 60_000})
	ta := startAgent(t, s)
	asg := assignment("fragile", "sleep", "1000")
	never := api.RestartPolicyPolicyNever
	asg.Spec.Restart = &api.RestartPolicy{Policy: &never}
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)
	s.waitEvent(t, asg.ID, "running", "")
	pid := ta.hostPID(t, asg.ID)
	ta.stop(t)
	destroyAll(t, ta.cfg.StateDir)
	if alive(pid) {
		t.Fatal("the workload survived its destruction")
	}

	cfg := ta.cfg
	cfg.JoinToken = ""
	cfg.Drivers = []driver.Driver{newProcessDriver(t, cfg.StateDir, cfg.Logger)}
	tb := start(t, cfg)
	s.waitEvent(t, asg.ID, "restarting", "gone when the agent restarted")
	eventually(t, "a new run", func() bool {
		r, _ := s.report(asg.ID)
		return r.Status == api.InstanceStatusRunning && s.countEvents(asg.ID, "running") == 2
	})
	if got := tb.hostPID(t, asg.ID); got == pid || !alive(got) {
		t.Errorf("pid %d, %d before", got, pid)
	}
}

// A stopping agent sends the events it still holds.
func TestStopFlushesEvents(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	eventually(t, "joined", func() bool { return s.heartbeatCount() > 0 })
	// The next heartbeat would come only in a minute.
	s.setTimings(api.AgentTimings{HeartbeatIntervalMs: 60_000, FenceTimeoutMs: 120_000, HeartbeatTimeoutMs: 240_000})
	n := s.heartbeatCount()
	eventually(t, "the long interval adopted", func() bool { return s.heartbeatCount() > n })
	ta.event("last-words", 1, "test", "said just before stopping")
	ta.stop(t)
	if !s.hasEvent("last-words", "test", "said just before stopping") {
		t.Fatal("the stopping agent lost its last event")
	}
}
