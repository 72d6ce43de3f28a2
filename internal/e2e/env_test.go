package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/cli"
	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/driver/docker"
	"github.com/nimbus-cloud/nimbus/internal/driver/process"
	"github.com/nimbus-cloud/nimbus/internal/server"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

func TestMain(m *testing.M) {
	if process.Reexec() || docker.Reexec() {
		return
	}
	if os.Getenv(agentEnv) == "1" {
		os.Exit(cli.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const adminPassword = "admin-secret-1"

// env is a server with its reconciler on a fresh SQLite store, and the
// admin's client.
type env struct {
	t       *testing.T
	url     string
	handler http.Handler
	admin   *client.Client
	log     *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testreq.Root(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "nimbus.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := server.Bootstrap(ctx, st, server.BootstrapOptions{AdminPassword: adminPassword}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{t: t, url: hs.URL, handler: srv.Handler(), log: log}
	e.admin = e.login("admin", adminPassword)
	call(e.admin.API.UpdateClusterWithResponse(ctx, "default", api.ClusterUpdate{HeartbeatTimeoutSeconds: ptr(10)})).ok(t)
	call(e.admin.API.PutQuotaWithResponse(ctx, "admin", "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
	return e
}

// scrape reads the server's Prometheus metrics.
func (e *env) scrape() string {
	e.t.Helper()
	res, err := http.Get(e.url + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// testWriter sends logs to t.Log while the test runs.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func (e *env) login(name, password string) *client.Client {
	anon, err := client.New(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	res := call(anon.API.LoginWithResponse(context.Background(), api.LoginRequest{Username: name, Password: password})).ok(e.t)
	c, err := client.New(e.url, client.WithToken(res.JSON201.Token))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// result is a generated client call's answer, checked with ok.
type result[R interface{ StatusCode() int }] struct {
	res R
	err error
}

// call wraps a generated client call: call(c.API.XWithResponse(...)).ok(t).
func call[R interface{ StatusCode() int }](res R, err error) result[R] { return result[R]{res, err} }

// ok fails the test unless the call answered 2xx, and returns the answer.
func (r result[R]) ok(t testing.TB) R {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.StatusCode() >= 300 {
		t.Fatalf("status %d", r.res.StatusCode())
	}
	return r.res
}

func ptr[T any](v T) *T { return &v }

// hostAgent is an agent running in this process with the real drivers.
type hostAgent struct {
	name     string
	stateDir string
	cancel   context.CancelFunc
	done     chan error
}

// startAgent joins a host (on the first start, with a fresh join token) and
// runs its agent until stop, or the test's end.
func (e *env) startAgent(name, stateDir string, labels map[string]string) *hostAgent {
	e.t.Helper()
	ctx := context.Background()
	token := ""
	if _, err := os.Stat(filepath.Join(stateDir, "credentials.json")); errors.Is(err, os.ErrNotExist) {
		jt := call(e.admin.API.CreateJoinTokenWithResponse(ctx, "default", api.JoinTokenCreate{})).ok(e.t)
		token = jt.JSON201.Token
	}
	log := e.log.With("agent", name)
	proc, err := process.New(process.Config{Dir: filepath.Join(stateDir, "process"), LeasePath: agent.LeasePath(stateDir), Logger: log})
	if err != nil {
		e.t.Fatal(err)
	}
	dock, err := docker.New(docker.Config{Logger: log, LeasePath: agent.LeasePath(stateDir)})
	if err != nil {
		e.t.Fatal(err)
	}
	ag, err := agent.New(agent.Config{Server: e.url, JoinToken: token, StateDir: stateDir, Listen: "127.0.0.1:0",
		HostName: name, Labels: labels, Drivers: []driver.Driver{proc, dock}, Logger: log, SampleInterval: time.Second,
		StopGrace: 2 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h := &hostAgent{name: name, stateDir: stateDir, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- ag.Run(runCtx); dock.Close() }()
	e.t.Cleanup(h.stop)
	e.eventually(10*time.Second, "host "+name+" ready", func() (bool, string) {
		res, err := e.admin.API.GetHostWithResponse(ctx, name)
		if err != nil || res.JSON200 == nil {
			return false, fmt.Sprint(err)
		}
		return res.JSON200.State == api.HostStateReady && res.JSON200.LastHeartbeatAt != nil, string(res.JSON200.State)
	})
	return h
}

// stop ends the agent process abruptly, as kill -9 would: its instances
// keep running (until their lease lapses and they fence themselves).
func (h *hostAgent) stop() {
	h.cancel()
	<-h.done
	h.done <- nil
}

// eventually polls cond until it holds or timeout passes.
func (e *env) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %s (last: %s)", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitStatus waits until the instance has status want and returns it.
func (e *env) waitStatus(c *client.Client, tenant, name string, want api.InstanceStatus, timeout time.Duration) api.Instance {
	e.t.Helper()
	var got api.Instance
	e.eventually(timeout, fmt.Sprintf("instance %s %s", name, want), func() (bool, string) {
		res, err := c.API.GetInstanceWithResponse(context.Background(), tenant, name)
		if err != nil || res.JSON200 == nil {
			return false, fmt.Sprint(err, res.Status())
		}
		got = *res.JSON200
		return got.Status == want, fmt.Sprintf("%s on %q: %s", got.Status, got.Host, got.Message)
	})
	return got
}

// logsOf reads an instance's output history.
func logsOf(t *testing.T, c *client.Client, tenant, name string) string {
	t.Helper()
	var b strings.Builder
	if err := c.Logs(context.Background(), tenant, name, client.LogOptions{}, func(e api.LogEntry) error {
		b.WriteString(e.Data)
		return nil
	}); err != nil {
		t.Fatalf("logs of %s: %v", name, err)
	}
	return b.String()
}

// execIn runs a command in an instance and returns its output and code.
func execIn(t *testing.T, c *client.Client, tenant, name string, cmd ...string) (string, int) {
	t.Helper()
	var out syncBuffer
	code, err := c.Exec(context.Background(), tenant, name, client.ExecOptions{Command: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v in %s: %v", cmd, name, err)
	}
	return out.String(), code
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
