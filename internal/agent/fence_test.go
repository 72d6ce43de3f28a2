package agent

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// Without heartbeats the agent stops its instances; when contact returns
// it runs those still assigned and destroys those moved elsewhere.
func TestFencing(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	keep := assignment("keep", "sleep", "1000")
	moved := assignment("moved", "sleep", "1000")
	s.assign(keep)
	s.assign(moved)
	s.waitStatus(t, keep.ID, api.InstanceStatusRunning)
	s.waitStatus(t, moved.ID, api.InstanceStatusRunning)
	keepPID, movedPID := ta.hostPID(t, keep.ID), ta.hostPID(t, moved.ID)

	s.setDown(true)
	eventually(t, "both instances fenced", func() bool {
		for _, id := range []string{keep.ID, moved.ID} {
			in, _ := ta.lookup(id)
			r := in.report()
			if r.Status != api.InstanceStatusStopped || !strings.Contains(deref(r.Message), "no contact with the server for") {
				return false
			}
		}
		return !alive(keepPID) && !alive(movedPID)
	})
	// The server, having given up on the host, placed one elsewhere.
	s.unassign(moved.ID)
	s.setDown(false)

	s.waitEvent(t, keep.ID, "fenced", "stopped so that it can run elsewhere")
	s.waitEvent(t, moved.ID, "fenced", "stopped so that it can run elsewhere")
	eventually(t, "keep running again", func() bool {
		r, _ := s.report(keep.ID)
		return r.Status == api.InstanceStatusRunning && s.countEvents(keep.ID, "running") == 2
	})
	if pid := ta.hostPID(t, keep.ID); pid == keepPID || !alive(pid) {
		t.Errorf("keep: pid %d after fencing, %d before", pid, keepPID)
	}
	s.waitEvent(t, moved.ID, "stopped", "no longer assigned to this host")
	if n := s.countEvents(moved.ID, "running"); n != 1 {
		t.Errorf("moved instance started again: %+v", s.eventsOf(moved.ID))
	}

	data, err := os.ReadFile(LeasePath(ta.cfg.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	if ns, err := strconv.ParseInt(string(data), 10, 64); err != nil || !time.Unix(0, ns).After(time.Now()) {
		t.Errorf("lease %q not renewed: %v", data, err)
	}
}

// Events and samples made while the server cannot be reached arrive once
// it can.
func TestBufferingAcrossOutage(t *testing.T) {
	s := newFakeServer(t)
	// A fence timeout longer than the outage: the instance keeps running.
	s.setTimings(api.AgentTimings{HeartbeatIntervalMs: 200, FenceTimeoutMs: 30_000, HeartbeatTimeoutMs: 60_000})
	ta := startAgent(t, s)
	marker := sharedDir(t) + "/go"
	asg := assignment("waiter", "sh", "-c", "while [ ! -e "+marker+" ]; do sleep 0.05; done; exit 3")
	never := api.RestartPolicyPolicyNever
	asg.Spec.Restart = &api.RestartPolicy{Policy: &never}
	s.assign(asg)
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)
	in, _ := ta.lookup(asg.ID)

	s.setDown(true)
	outage := time.Now()
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the instance failed during the outage", func() bool {
		return in.report().Status == api.InstanceStatusFailed
	})
	eventually(t, "samples buffered during the outage", func() bool {
		ta.mu.Lock()
		defer ta.mu.Unlock()
		n := 0
		for _, smp := range ta.samples.items {
			if smp.At.After(outage) {
				n++
			}
		}
		return n >= 2
	})
	if s.hasEvent(asg.ID, "failed", "") {
		t.Fatal("an event got through the outage")
	}
	s.setDown(false)
	back := time.Now()

	s.waitEvent(t, asg.ID, "failed", "exited with code 3")
	s.mu.Lock()
	defer s.mu.Unlock()
	during := 0
	for _, smp := range s.samples {
		if smp.At.After(outage) && smp.At.Before(back) {
			during++
		}
	}
	if during < 2 {
		t.Errorf("%d samples from the outage arrived", during)
	}
}

// After a long outage the buffers go out in several heartbeats, each
// within the server's limit on request bodies.
func TestLargeBacklogInSeveralHeartbeats(t *testing.T) {
	s := newFakeServer(t)
	s.setTimings(api.AgentTimings{HeartbeatIntervalMs: 200, FenceTimeoutMs: 30_000, HeartbeatTimeoutMs: 60_000})
	ta := startAgent(t, s)
	eventually(t, "joined", func() bool { return s.heartbeatCount() > 0 })
	s.setDown(true)
	const n = 9000
	msg := strings.Repeat("x", 400)
	for i := range n {
		ta.event("backlog", int64(i), "test", msg)
	}
	before := s.heartbeatCount()
	s.setDown(false)
	eventually(t, "the whole backlog delivered", func() bool { return len(s.eventsOf("backlog")) == n })
	if s.heartbeatCount()-before < 4 {
		t.Errorf("%d heartbeats carried 4 MB", s.heartbeatCount()-before)
	}
	for i, e := range s.eventsOf("backlog") {
		if e.Generation != int64(i) {
			t.Fatalf("event %d has generation %d: out of order or lost", i, e.Generation)
		}
	}
}
