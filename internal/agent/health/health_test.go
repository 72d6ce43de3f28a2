package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMonitorCountsFailuresInARow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewMonitor(Check{Retries: 3}, t0)
	fail := errors.New("no")
	steps := []struct {
		err  error
		want Change
	}{
		{fail, Failing}, {fail, Unchanged}, {nil, Passed}, // a success resets the count
		{fail, Unchanged}, {fail, Unchanged}, {fail, BecameUnhealthy},
		{fail, Unchanged}, {nil, BecameHealthy}, {nil, Unchanged},
	}
	for i, s := range steps {
		if got := m.Observe(t0.Add(time.Duration(i)*time.Second), s.err); got != s.want {
			t.Fatalf("step %d: %v, want %v", i, got, s.want)
		}
	}
}

func TestMonitorStartPeriod(t *testing.T) {
	t0 := time.Unix(1000, 0)
	fail := errors.New("no")
	m := NewMonitor(Check{Retries: 1, StartPeriod: 10 * time.Second}, t0)
	if got := m.Observe(t0.Add(5*time.Second), fail); got != Unchanged {
		t.Fatalf("failure in the start period counted: %v", got)
	}
	if got := m.Observe(t0.Add(11*time.Second), fail); got != BecameUnhealthy {
		t.Fatalf("failure after the start period: %v", got)
	}

	// A success ends the start period early.
	m = NewMonitor(Check{Retries: 1, StartPeriod: 10 * time.Second}, t0)
	if got := m.Observe(t0.Add(time.Second), nil); got != Passed {
		t.Fatalf("first success: %v", got)
	}
	if got := m.Observe(t0.Add(2*time.Second), fail); got != BecameUnhealthy {
		t.Fatalf("failure after a success in the start period: %v", got)
	}

	// With several retries, the first failure after the start period ends
	// the start without a verdict of unhealthy; later ones count on.
	m = NewMonitor(Check{Retries: 2, StartPeriod: 10 * time.Second}, t0)
	for i, want := range []Change{Unchanged, Failing, BecameUnhealthy, Unchanged} {
		if got := m.Observe(t0.Add(time.Duration(9+i)*time.Second), fail); got != want {
			t.Fatalf("failure at %d s: %v, want %v", 9+i, got, want)
		}
	}
}

// hostPort splits a listener's address.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestProbeHTTP(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ready" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if status.Load() == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	host, p := hostPort(t, srv.Listener.Addr().String())
	// The check names instance port 8080, mapped to the server's port.
	c := Check{Kind: HTTP, Port: 8080, Path: "/ready", Timeout: 5 * time.Second}
	target := Target{Host: host, HostPorts: map[int]int{8080: p}}
	ctx := context.Background()

	for _, code := range []int{http.StatusOK, http.StatusNoContent, http.StatusFound} {
		status.Store(int32(code))
		if err := Probe(ctx, c, target); err != nil {
			t.Errorf("status %d: %v", code, err)
		}
	}
	status.Store(http.StatusInternalServerError)
	if err := Probe(ctx, c, target); err == nil || !strings.Contains(err.Error(), "500 Internal Server Error") {
		t.Errorf("status 500: %v", err)
	}
	status.Store(http.StatusOK)
	if err := Probe(ctx, Check{Kind: HTTP, Port: 8080, Path: "/other"}, target); err == nil {
		t.Error("404 counted healthy")
	}
	// An unmapped port is reached on itself.
	if err := Probe(ctx, Check{Kind: HTTP, Port: p, Path: "/ready"}, Target{Host: host}); err != nil {
		t.Errorf("unmapped port: %v", err)
	}
}

func TestProbeHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	host, p := hostPort(t, srv.Listener.Addr().String())
	err := Probe(context.Background(), Check{Kind: HTTP, Port: p, Timeout: 100 * time.Millisecond}, Target{Host: host})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow answer: %v", err)
	}
}

func TestProbeTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p := hostPort(t, l.Addr().String())
	c := Check{Kind: TCP, Port: p, Timeout: 5 * time.Second}
	if err := Probe(context.Background(), c, Target{}); err != nil {
		t.Errorf("listening: %v", err)
	}
	l.Close()
	if err := Probe(context.Background(), c, Target{}); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed: %v", err)
	}
}

func TestProbeExec(t *testing.T) {
	code := 0
	target := Target{Exec: func(_ context.Context, command []string, out io.Writer) (int, error) {
		fmt.Fprintf(out, "%s says %s\n", command[0], strings.Repeat("x", 1000))
		if code < 0 {
			return 0, errors.New("instance not running")
		}
		return code, nil
	}}
	c := Check{Kind: Exec, Command: []string{"check"}}
	if err := Probe(context.Background(), c, target); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	code = 2
	err := Probe(context.Background(), c, target)
	if err == nil || !strings.Contains(err.Error(), "check exited with code 2: ") || len(err.Error()) > maxReason+100 {
		t.Errorf("exit 2: %v", err)
	}
	code = -1
	if err := Probe(context.Background(), c, target); err == nil || !strings.Contains(err.Error(), "instance not running") {
		t.Errorf("exec error: %v", err)
	}
	if err := Probe(context.Background(), Check{Kind: Exec}, target); err == nil {
		t.Error("no command counted healthy")
	}
	if err := Probe(context.Background(), c, Target{}); err == nil {
		t.Error("no way to run commands counted healthy")
	}
	if err := Probe(context.Background(), Check{Kind: "smoke"}, target); err == nil {
		t.Error("unknown kind counted healthy")
	}
}

func TestWatchNotifiesTransitions(t *testing.T) {
	var failing atomic.Bool
	target := Target{Exec: func(context.Context, []string, io.Writer) (int, error) {
		if failing.Load() {
			return 1, nil
		}
		return 0, nil
	}}
	c := Check{Kind: Exec, Command: []string{"check"}, Interval: 10 * time.Millisecond, Retries: 2}
	failing.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan Change, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(ctx, c, target, time.Now(), nil, func(ch Change, err error) {
			if (ch == BecameUnhealthy || ch == Failing) != (err != nil) {
				t.Errorf("change %v with error %v", ch, err)
			}
			changes <- ch
		})
	}()
	for i, want := range []Change{Failing, BecameUnhealthy} {
		if got := <-changes; got != want {
			t.Fatalf("change %d: %v, want %v", i, got, want)
		}
	}
	failing.Store(false)
	if got := <-changes; got != BecameHealthy {
		t.Fatalf("second change %v", got)
	}
	cancel()
	<-done
}
