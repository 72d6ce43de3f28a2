package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/driver/process"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

func TestMain(m *testing.M) {
	process.Reexec()
	// Shims inherit this: under -race they would otherwise linger a
	// second when they exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// patience bounds every wait of the tests: generous, as the machine may be
// busy. No test asserts how fast anything happens.
const patience = 60 * time.Second

// testTimings are short so that tests run quickly.
var testTimings = api.AgentTimings{HeartbeatIntervalMs: 200, FenceTimeoutMs: 1500, HeartbeatTimeoutMs: 5000}

// fakeServer implements the three agent endpoints of the API in memory.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	tokens      map[string]bool // unused join tokens
	credential  string
	agentKey    string
	timings     api.AgentTimings
	revision    int64
	assignments map[string]api.Assignment
	changed     chan struct{} // closed on each change of the assignments
	down        bool          // answer 503 to heartbeats and assignments
	joins       []api.AgentJoinRequest
	heartbeats  int
	maxStarting int // sent with the assignments; 0 leaves it out
	last        api.AgentHeartbeat
	reported    [][]api.InstanceReport // the instance reports of every heartbeat
	events      []api.AgentEvent
	samples     []api.MetricSample
}

func newFakeServer(t *testing.T) *fakeServer {
	s := &fakeServer{
		t:           t,
		tokens:      map[string]bool{},
		credential:  "nhc_" + uuid.NewString(),
		agentKey:    uuid.NewString(),
		timings:     testTimings,
		assignments: map[string]api.Assignment{},
		changed:     make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent/join", s.join)
	mux.HandleFunc("POST /api/v1/agent/heartbeat", s.heartbeat)
	mux.HandleFunc("GET /api/v1/agent/assignments", s.assigned)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// newToken makes a single-use join token.
func (s *fakeServer) newToken() string {
	tok := "njt_" + uuid.NewString()
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	return tok
}

func problem(w http.ResponseWriter, status int, code api.ProblemCode, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Type: "https://nimbus.dev/problems/" + string(code), Title: http.StatusText(status), Status: status, Code: code, Detail: &detail})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *fakeServer) join(w http.ResponseWriter, r *http.Request) {
	var req api.AgentJoinRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, api.ProblemCodeInvalidJSON, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tokens[req.Token] {
		problem(w, http.StatusUnauthorized, api.ProblemCodeUnauthenticated, "unknown, used or expired join token")
		return
	}
	delete(s.tokens, req.Token)
	s.joins = append(s.joins, req)
	answer(w, http.StatusCreated, api.AgentJoinResponse{Host: req.HostName, Cluster: "default", Credential: s.credential, AgentKey: s.agentKey, Timings: s.timings})
}

// authorized checks the host credential and the outage switch.
func (s *fakeServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.credential {
		problem(w, http.StatusUnauthorized, api.ProblemCodeUnauthenticated, "bad host credential")
		return false
	}
	if s.down {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (s *fakeServer) heartbeat(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var hb api.AgentHeartbeat
	// The real server's limit of every request body.
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&hb); err != nil {
		s.t.Errorf("heartbeat refused: %v", err)
		problem(w, http.StatusRequestEntityTooLarge, api.ProblemCodeBodyTooLarge, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heartbeats++
	s.last = hb
	if hb.Instances != nil {
		s.reported = append(s.reported, *hb.Instances)
	}
	if hb.Events != nil {
		s.events = append(s.events, *hb.Events...)
	}
	if hb.Samples != nil {
		s.samples = append(s.samples, *hb.Samples...)
	}
	answer(w, http.StatusOK, api.AgentHeartbeatResponse{Revision: s.revision, Timings: s.timings})
}

func (s *fakeServer) assigned(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	rev, _ := strconv.ParseInt(r.URL.Query().Get("revision"), 10, 64)
	waitMs, _ := strconv.Atoi(r.URL.Query().Get("wait_ms"))
	s.mu.Lock()
	same, changed := rev == s.revision, s.changed
	s.mu.Unlock()
	if same && waitMs > 0 {
		t := time.NewTimer(time.Duration(waitMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-changed:
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	as := api.AgentAssignments{Revision: s.revision, Instances: []api.Assignment{}, MaxStarting: s.maxStarting}
	for _, a := range s.assignments {
		as.Instances = append(as.Instances, a)
	}
	s.mu.Unlock()
	answer(w, http.StatusOK, as)
}

// bump publishes a change of the assignments; s.mu is held.
func (s *fakeServer) bumpLocked() {
	s.revision++
	close(s.changed)
	s.changed = make(chan struct{})
}

// assign adds or replaces an assignment.
func (s *fakeServer) assign(a api.Assignment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assignments[a.ID] = a
	s.bumpLocked()
}

// edit changes an assignment in place.
func (s *fakeServer) edit(id string, fn func(*api.Assignment)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assignments[id]
	fn(&a)
	s.assignments[id] = a
	s.bumpLocked()
}

// unassign removes an assignment.
func (s *fakeServer) unassign(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.assignments, id)
	s.bumpLocked()
}

func (s *fakeServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// change applies fn to the server's state as one change of the
// assignments.
func (s *fakeServer) change(fn func(s *fakeServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
	s.bumpLocked()
}

// reports is the instance reports of every heartbeat received so far.
func (s *fakeServer) reports() [][]api.InstanceReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reported)
}

func (s *fakeServer) setTimings(t api.AgentTimings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timings = t
}

// report is the latest report of an instance.
func (s *fakeServer) report(id string) (api.InstanceReport, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.Instances == nil {
		return api.InstanceReport{}, false
	}
	for _, r := range *s.last.Instances {
		if r.ID == id {
			return r, true
		}
	}
	return api.InstanceReport{}, false
}

// eventsOf lists the events received for an instance, in order.
func (s *fakeServer) eventsOf(id string) []api.AgentEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []api.AgentEvent
	for _, e := range s.events {
		if e.InstanceID == id {
			out = append(out, e)
		}
	}
	return out
}

// hasEvent reports whether an event of type typ whose message contains
// msg was received for the instance.
func (s *fakeServer) hasEvent(id, typ, msg string) bool {
	return slices.ContainsFunc(s.eventsOf(id), func(e api.AgentEvent) bool {
		return e.Type == typ && strings.Contains(deref(e.Message), msg)
	})
}

func (s *fakeServer) heartbeatCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeats
}

// eventually polls cond until it holds, failing the test after patience.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus waits until the server received status st for the instance.
func (s *fakeServer) waitStatus(t *testing.T, id string, st api.InstanceStatus) api.InstanceReport {
	t.Helper()
	var r api.InstanceReport
	eventually(t, "instance "+id+" reported "+string(st), func() bool {
		var ok bool
		r, ok = s.report(id)
		return ok && r.Status == st
	})
	return r
}

// waitEvent waits until the server received an event.
func (s *fakeServer) waitEvent(t *testing.T, id, typ, msg string) {
	t.Helper()
	eventually(t, "event "+typ+" "+strconv.Quote(msg)+" of "+id, func() bool { return s.hasEvent(id, typ, msg) })
}

// testAgent is an agent running in the background.
type testAgent struct {
	*Agent
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // what Run returned
}

// stop ends Run and waits for it.
func (ta *testAgent) stop(t *testing.T) {
	t.Helper()
	ta.cancel()
	select {
	case <-ta.done:
		if ta.err != nil {
			t.Errorf("run: %v", ta.err)
		}
	case <-time.After(patience):
		t.Fatal("agent did not stop")
	}
}

// newProcessDriver makes a process driver keeping its state in the
// agent's state directory and obeying its lease.
func newProcessDriver(t *testing.T, stateDir string, log *slog.Logger) *process.Driver {
	t.Helper()
	d, err := process.New(process.Config{Dir: filepath.Join(stateDir, "process"), LeasePath: LeasePath(stateDir), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// agentConfig is the configuration of a test agent over stateDir.
func (s *fakeServer) agentConfig(t *testing.T, stateDir string) Config {
	log := testLogger(t)
	return Config{
		Server:         s.srv.URL,
		JoinToken:      s.newToken(),
		StateDir:       stateDir,
		Listen:         "127.0.0.1:0",
		HostName:       "test-host",
		Labels:         map[string]string{"zone": "test"},
		Drivers:        []driver.Driver{newProcessDriver(t, stateDir, log)},
		Logger:         log,
		SampleInterval: 200 * time.Millisecond,
		StopGrace:      500 * time.Millisecond,
	}
}

// start runs an agent with cfg until the test ends.
func start(t *testing.T, cfg Config) *testAgent {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ta.done)
		ta.err = a.Run(ctx)
	}()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// startAgent joins a fresh agent to s and runs it; its instances are
// destroyed when the test ends.
func startAgent(t *testing.T, s *fakeServer) *testAgent {
	t.Helper()
	testreq.Root(t)
	dir := t.TempDir()
	t.Cleanup(func() { destroyAll(t, dir) })
	return start(t, s.agentConfig(t, dir))
}

// destroyAll destroys every instance recorded in a state directory.
func destroyAll(t *testing.T, stateDir string) {
	recs, err := loadRecords(stateDir)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	d := newProcessDriver(t, stateDir, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for _, r := range recs {
		if r.Handle == nil {
			continue
		}
		if err := d.Recover(ctx, *r.Handle); err != nil {
			continue
		}
		if err := d.Destroy(ctx, r.Assignment.ID); err != nil && !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("cleanup %s: %v", r.Assignment.ID, err)
		}
	}
}

// assignment is a running assignment of a process instance running argv.
func assignment(name string, argv ...string) api.Assignment {
	cpu, mem := 0.5, int64(64)
	return api.Assignment{
		ID:         uuid.NewString(),
		Name:       name,
		Tenant:     "acme",
		Generation: 1,
		Desired:    api.DesiredStateRunning,
		Labels:     map[string]string{"app": name},
		Spec: api.InstanceSpec{
			Driver:    api.InstanceDriverProcess,
			Command:   &argv,
			CPU:       &cpu,
			MemoryMib: &mem,
		},
	}
}

// hostPID is the host pid of the instance's current run.
func (ta *testAgent) hostPID(t *testing.T, id string) int {
	t.Helper()
	in, ok := ta.lookup(id)
	if !ok {
		t.Fatalf("no instance %s", id)
	}
	in.mu.Lock()
	h := in.rec.Handle
	in.mu.Unlock()
	if h == nil {
		t.Fatalf("instance %s has no handle", id)
	}
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(h.State, &st); err != nil || st.PID == 0 {
		t.Fatalf("handle of %s: %s (%v)", id, h.State, err)
	}
	return st.PID
}

// alive reports whether a process runs (and is not a zombie).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

func ptr[T any](v T) *T { return &v }

// countEvents counts the events of a type received for an instance.
func (s *fakeServer) countEvents(id, typ string) int {
	n := 0
	for _, e := range s.eventsOf(id) {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// sharedDir returns a temporary directory the workloads can reach: they
// run as nobody, and t.TempDir's directories are private to root.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
