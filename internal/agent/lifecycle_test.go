package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
)

func TestInstanceLifecycle(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	asg := assignment("web", "sleep", "1000")
	s.assign(asg)
	id := asg.ID

	r := s.waitStatus(t, id, api.InstanceStatusRunning)
	if r.StartedAt == nil || r.Generation != 1 || deref(r.Restarts) != 0 {
		t.Errorf("running report: %+v", r)
	}
	s.waitEvent(t, id, "running", "started")
	pid := ta.hostPID(t, id)
	if !alive(pid) {
		t.Fatalf("pid %d not running", pid)
	}
	eventually(t, "a metric sample of the instance", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return slices.ContainsFunc(s.samples, func(m api.MetricSample) bool {
			return deref(m.InstanceID) == id && m.MemoryBytes > 0 && m.CPU >= 0
		})
	})
	if !slices.ContainsFunc(ta.LatestSamples(), func(m api.MetricSample) bool { return deref(m.InstanceID) == id }) {
		t.Errorf("latest samples lack the instance: %+v", ta.LatestSamples())
	}

	// Desired stopped: it stops and says so.
	s.edit(id, func(a *api.Assignment) { a.Desired = api.DesiredStateStopped })
	s.waitStatus(t, id, api.InstanceStatusStopped)
	s.waitEvent(t, id, "stopped", "stopped on request")
	eventually(t, "the workload gone", func() bool { return !alive(pid) })

	// Desired running again: a new run.
	s.edit(id, func(a *api.Assignment) { a.Desired = api.DesiredStateRunning })
	s.waitStatus(t, id, api.InstanceStatusRunning)
	pid2 := ta.hostPID(t, id)
	if pid2 == pid || !alive(pid2) {
		t.Fatalf("second run: pid %d (first %d)", pid2, pid)
	}

	// A restart request: the run is replaced.
	s.edit(id, func(a *api.Assignment) { a.RestartSeq++ })
	s.waitEvent(t, id, "restarting", "restart requested")
	eventually(t, "a third run", func() bool {
		r, _ := s.report(id)
		return r.Status == api.InstanceStatusRunning && ta.hostPID(t, id) != pid2
	})
	pid3 := ta.hostPID(t, id)
	eventually(t, "the second run gone", func() bool { return !alive(pid2) })

	// No longer assigned: stopped, destroyed and forgotten.
	s.unassign(id)
	s.waitEvent(t, id, "stopped", "no longer assigned to this host")
	eventually(t, "the report gone", func() bool { _, ok := s.report(id); return !ok })
	if alive(pid3) {
		t.Errorf("pid %d still runs", pid3)
	}
	if _, err := os.Stat(recordPath(ta.cfg.StateDir, id)); !os.IsNotExist(err) {
		t.Errorf("record kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ta.cfg.StateDir, "process", id)); !os.IsNotExist(err) {
		t.Errorf("driver state kept: %v", err)
	}
}

// A new generation of an instance replaces the old copy, which stops
// before the new one starts.
func TestGenerationChange(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	asg := assignment("db", "sleep", "1000")
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)
	old := ta.hostPID(t, asg.ID)

	s.edit(asg.ID, func(a *api.Assignment) { a.Generation = 2 })
	eventually(t, "generation 2 running", func() bool {
		r, ok := s.report(asg.ID)
		return ok && r.Generation == 2 && r.Status == api.InstanceStatusRunning
	})
	if alive(old) {
		t.Errorf("old copy (pid %d) still runs", old)
	}
	evs := s.eventsOf(asg.ID)
	stopped := slices.IndexFunc(evs, func(e api.AgentEvent) bool { return e.Type == "stopped" && e.Generation == 1 })
	started := slices.IndexFunc(evs, func(e api.AgentEvent) bool { return e.Type == "running" && e.Generation == 2 })
	if stopped < 0 || started < 0 || stopped > started || evs[stopped].At.After(evs[started].At) {
		t.Fatalf("want generation 1 stopped before generation 2 started; events: %+v", evs)
	}
}

func TestRestartPolicy(t *testing.T) {
	s := newFakeServer(t)
	startAgent(t, s)
	policy := func(p api.RestartPolicyPolicy, maxRetries int) *api.RestartPolicy {
		return &api.RestartPolicy{Policy: &p, MaxRetries: &maxRetries, BackoffMs: ptr(50), MaxBackoffMs: ptr(200)}
	}
	onFailure := assignment("crashy", "sh", "-c", "exit 1")
	onFailure.Spec.Restart = policy(api.RestartPolicyPolicyOnFailure, 0)
	never := assignment("once", "sh", "-c", "exit 1")
	never.Spec.Restart = policy(api.RestartPolicyPolicyNever, 0)
	limited := assignment("limited", "sh", "-c", "exit 2")
	limited.Spec.Restart = policy(api.RestartPolicyPolicyOnFailure, 2)
	always := assignment("batch", "true")
	always.Spec.Restart = policy(api.RestartPolicyPolicyAlways, 0)
	done := assignment("done", "true") // on-failure by default: exit 0 stays exited
	badCommand := assignment("typo", "/nonexistent/program")
	badCommand.Spec.Restart = policy(api.RestartPolicyPolicyOnFailure, 1)
	for _, a := range []api.Assignment{onFailure, never, limited, always, done, badCommand} {
		s.assign(a)
	}

	eventually(t, "on-failure restarts grow", func() bool {
		r, _ := s.report(onFailure.ID)
		return deref(r.Restarts) >= 4
	})
	s.waitEvent(t, onFailure.ID, "restarting", "restarting in 50ms (attempt 1)")
	s.waitEvent(t, onFailure.ID, "restarting", "restarting in 100ms (attempt 2)")
	s.waitEvent(t, onFailure.ID, "restarting", "restarting in 200ms (attempt 4)")
	s.waitEvent(t, onFailure.ID, "failed", "exited with code 1")

	eventually(t, "always restarts a run that succeeded", func() bool {
		r, _ := s.report(always.ID)
		return deref(r.Restarts) >= 2
	})

	r := s.waitStatus(t, limited.ID, api.InstanceStatusFailed)
	if deref(r.Restarts) != 2 || deref(r.ExitCode) != 2 {
		t.Errorf("limited: %+v", r)
	}
	s.waitEvent(t, limited.ID, "failed", "exited with code 2")
	eventually(t, "limited gives up", func() bool {
		r, _ := s.report(limited.ID)
		return r.Message != nil && contains(*r.Message, "gave up after 2 restarts in a row")
	})

	r = s.waitStatus(t, never.ID, api.InstanceStatusFailed)
	if deref(r.ExitCode) != 1 {
		t.Errorf("never: %+v", r)
	}
	r = s.waitStatus(t, done.ID, api.InstanceStatusExited)
	if deref(r.ExitCode) != 0 {
		t.Errorf("done: %+v", r)
	}
	s.waitEvent(t, done.ID, "exited", "exited with code 0")
	s.waitEvent(t, badCommand.ID, "failed", "start")

	// Neither never nor done ran again while the others restarted.
	for _, id := range []string{never.ID, done.ID} {
		r, _ := s.report(id)
		if deref(r.Restarts) != 0 || s.countEvents(id, "running") != 1 {
			t.Errorf("instance %s restarted: %+v, events %+v", id, r, s.eventsOf(id))
		}
	}
}

// An instance killed for exceeding its memory limit says so.
func TestOOMKilled(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	if d := ta.cfg.Drivers[0].Probe(t.Context()).Detail; !contains(d, "cgroup") || contains(d, "no cgroup") {
		t.Skipf("no memory limits here: %s", d)
	}
	asg := assignment("hog", "sh", "-c", `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo survived`)
	asg.Spec.MemoryMib = ptr(int64(16))
	never := api.RestartPolicyPolicyNever
	asg.Spec.Restart = &api.RestartPolicy{Policy: &never}
	s.assign(asg)
	r := s.waitStatus(t, asg.ID, api.InstanceStatusFailed)
	if !deref(r.OomKilled) || !contains(deref(r.Message), "memory limit of 16 MiB") {
		t.Errorf("report %+v, message %q", r, deref(r.Message))
	}
	s.waitEvent(t, asg.ID, "oom_killed", "killed for exceeding its memory limit of 16 MiB")
}
