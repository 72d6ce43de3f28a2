package agent

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestJoinThenHeartbeat(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	eventually(t, "a heartbeat with a host sample", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, smp := range s.samples {
			if smp.InstanceID == nil && smp.MemoryBytes > 0 {
				return true
			}
		}
		return false
	})

	s.mu.Lock()
	joins, last := s.joins, s.last
	s.mu.Unlock()
	if len(joins) != 1 {
		t.Fatalf("joins: %d, want 1", len(joins))
	}
	j := joins[0]
	if j.HostName != "test-host" || j.Capacity.CPU <= 0 || j.Capacity.MemoryMib <= 0 || deref(j.AgentURL) != ta.URL() {
		t.Errorf("join request: host %q, capacity %+v, agent_url %q (agent at %s)", j.HostName, j.Capacity, deref(j.AgentURL), ta.URL())
	}
	if j.Labels == nil || (*j.Labels)["zone"] != "test" || j.Drivers == nil || len(*j.Drivers) != 1 || (*j.Drivers)[0].Name != "process" || !(*j.Drivers)[0].Available {
		t.Errorf("join request: labels %v, drivers %+v", j.Labels, j.Drivers)
	}
	if deref(last.AgentURL) != ta.URL() || last.Capacity == nil || last.Instances == nil {
		t.Errorf("heartbeat: %+v", last)
	}

	fi, err := os.Stat(credentialsPath(ta.cfg.StateDir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, %v", fi, err)
	}
	data, err := os.ReadFile(LeasePath(ta.cfg.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil || time.Unix(0, ns).Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("lease %q: %v", data, err)
	}

	// A restarted agent uses its credential and never joins again, even
	// given a token.
	ta.stop(t)
	cfg := ta.cfg
	cfg.JoinToken = s.newToken()
	before := s.heartbeatCount()
	start(t, cfg)
	eventually(t, "heartbeats of the restarted agent", func() bool { return s.heartbeatCount() > before+2 })
	s.mu.Lock()
	n := len(s.joins)
	s.mu.Unlock()
	if n != 1 {
		t.Fatalf("joins after restart: %d, want 1", n)
	}
}

func TestJoinRefused(t *testing.T) {
	s := newFakeServer(t)
	first := startAgent(t, s)
	eventually(t, "first agent joined", func() bool { return s.heartbeatCount() > 0 })

	// Another machine given the same, now used, token.
	cfg := s.agentConfig(t, t.TempDir())
	cfg.JoinToken = first.cfg.JoinToken
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	err = a.Run(ctx)
	if !errors.Is(err, ErrJoinRefused) {
		t.Fatalf("run: %v, want ErrJoinRefused", err)
	}
	for _, want := range []string{"used already or has expired", "nimbus host join-command"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(credentialsPath(cfg.StateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials saved after a refused join: %v", err)
	}
}
