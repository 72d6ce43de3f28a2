package agent

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
)

// healthy is a health check of the given type probing every second and
// failing after two failures in a row. Its timeout is long so that a busy
// machine fails no check by slowness; the tests' failures are immediate.
func healthy(typ api.HealthCheckType) *api.HealthCheck {
	return &api.HealthCheck{Type: &typ, IntervalSeconds: ptr(1), TimeoutSeconds: ptr(10), Retries: ptr(2)}
}

// Each kind of check turns its instance unhealthy when it fails, and the
// instance restarts; without a check nothing happens.
func TestHealthChecks(t *testing.T) {
	s := newFakeServer(t)
	startAgent(t, s)
	fast := &api.RestartPolicy{BackoffMs: ptr(100), MaxBackoffMs: ptr(100)}

	// http: the test serves the checked port; it starts answering 503.
	var failing atomic.Bool
	web := listen(t)
	go func() {
		_ = http.Serve(web, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() || r.URL.Path != "/healthz" {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
	}()
	httpInst := assignment("http-checked", "sleep", "1000")
	httpInst.Spec.HealthCheck = healthy(api.HealthCheckTypeHTTP)
	httpInst.Spec.HealthCheck.Port = ptr(port(web))
	httpInst.Spec.HealthCheck.Path = ptr("/healthz")
	httpInst.Spec.Restart = fast

	// tcp: the test listens on the checked port, then stops listening.
	tcp := listen(t)
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	tcpInst := assignment("tcp-checked", "sleep", "1000")
	tcpInst.Spec.HealthCheck = healthy(api.HealthCheckTypeTCP)
	tcpInst.Spec.HealthCheck.Port = ptr(port(tcp))
	tcpInst.Spec.Restart = fast

	// exec: a command inside the instance tests for a file the test removes.
	marker := filepath.Join(sharedDir(t), "ok")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	execInst := assignment("exec-checked", "sleep", "1000")
	execInst.Spec.HealthCheck = healthy(api.HealthCheckTypeExec)
	execInst.Spec.HealthCheck.Command = &[]string{"sh", "-c", "test -f " + marker + " || { echo missing; exit 1; }"}
	execInst.Spec.Restart = fast

	noneInst := assignment("unchecked", "sleep", "1000")
	noneInst.Spec.HealthCheck = healthy(api.HealthCheckTypeNone)

	all := []api.Assignment{httpInst, tcpInst, execInst, noneInst}
	for _, a := range all {
		s.assign(a)
	}
	for _, a := range all {
		s.waitStatus(t, a.ID, api.InstanceStatusRunning)
	}
	// Let every check pass a few times before breaking them.
	before := s.heartbeatCount()
	eventually(t, "a few heartbeats", func() bool { return s.heartbeatCount() > before+10 })
	for _, a := range all {
		if s.hasEvent(a.ID, "unhealthy", "") {
			t.Fatalf("%s unhealthy while its check passes: %+v", a.Name, s.eventsOf(a.ID))
		}
	}

	failing.Store(true)
	tcp.Close()
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	s.waitEvent(t, httpInst.ID, "unhealthy", "503 Service Unavailable")
	s.waitEvent(t, tcpInst.ID, "unhealthy", "connection refused")
	s.waitEvent(t, execInst.ID, "unhealthy", "exited with code 1: missing")
	for _, a := range all[:3] {
		s.waitEvent(t, a.ID, "restarting", "attempt 1")
		eventually(t, a.Name+" restarted", func() bool {
			r, _ := s.report(a.ID)
			return deref(r.Restarts) >= 1 && s.countEvents(a.ID, "running") >= 2
		})
	}
	r, _ := s.report(noneInst.ID)
	if r.Status != api.InstanceStatusRunning || deref(r.Restarts) != 0 || s.countEvents(noneInst.ID, "unhealthy") != 0 {
		t.Errorf("unchecked instance: %+v, events %+v", r, s.eventsOf(noneInst.ID))
	}
}

// With the restart policy never, an unhealthy instance keeps running and
// becomes healthy again when its check passes.
func TestHealthRecovers(t *testing.T) {
	s := newFakeServer(t)
	ta := startAgent(t, s)
	marker := filepath.Join(sharedDir(t), "ok")
	asg := assignment("flaky", "sleep", "1000")
	asg.Spec.HealthCheck = healthy(api.HealthCheckTypeExec)
	asg.Spec.HealthCheck.Command = &[]string{"test", "-f", marker}
	never := api.RestartPolicyPolicyNever
	asg.Spec.Restart = &api.RestartPolicy{Policy: &never}
	s.assign(asg)

	r := s.waitStatus(t, asg.ID, api.InstanceStatusUnhealthy)
	if !contains(deref(r.Message), "exited with code 1") {
		t.Errorf("unhealthy message: %q", deref(r.Message))
	}
	pid := ta.hostPID(t, asg.ID)
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitEvent(t, asg.ID, "healthy", "")
	s.waitStatus(t, asg.ID, api.InstanceStatusRunning)
	if ta.hostPID(t, asg.ID) != pid || !alive(pid) || s.countEvents(asg.ID, "running") != 1 {
		t.Errorf("the instance restarted under policy never: %+v", s.eventsOf(asg.ID))
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func port(l net.Listener) int {
	_, p, _ := net.SplitHostPort(l.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}
