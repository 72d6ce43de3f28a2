package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// isolate gives the test an empty config directory and no NIMBUS_* environment.
func isolate(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"NIMBUS_SERVER", "NIMBUS_TOKEN", "NIMBUS_PASSWORD", "NIMBUS_NEW_PASSWORD"} {
		t.Setenv(v, "")
	}
}

// runCLI runs nimbus with args and stdin and returns what it printed.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := &app{in: strings.NewReader(stdin), out: &out, errOut: &errOut}
	root := a.rootCmd()
	root.SetArgs(args)
	_, err = root.ExecuteContextC(t.Context())
	return out.String(), errOut.String(), err
}

// fakeAPI answers a few operations the way the Nimbus API does and records
// every request as "METHOD path?query" with its body.
type fakeAPI struct {
	mu       sync.Mutex
	requests []string
	bodies   map[string]string
	// drainPolls counts reads of a draining host.
	drainPolls int
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.requests = append(f.requests, key+"?"+r.URL.RawQuery)
	f.bodies[key] = string(body)
	f.mu.Unlock()

	if key != "POST /api/v1/auth/login" && r.Header.Get("Authorization") != "Bearer nmt_test" {
		problem(w, 401, "unauthenticated", "no valid token", nil)
		return
	}
	user := api.User{Name: "admin", PersonalTenant: "admin", Enabled: true, PlatformAdmin: true}
	switch key {
	case "POST /api/v1/auth/login":
		var req api.LoginRequest
		_ = json.Unmarshal(body, &req)
		if req.Password != "s3cret-pass" {
			problem(w, 401, "unauthenticated", "wrong user name or password", nil)
			return
		}
		reply(w, 201, api.LoginResponse{Token: "nmt_test", ExpiresAt: time.Now().Add(time.Hour), User: user})
	case "POST /api/v1/auth/logout":
		w.WriteHeader(204)
	case "GET /api/v1/users":
		if r.URL.Query().Get("page_token") == "" {
			reply(w, 200, api.UserList{Items: []api.User{user}, NextPageToken: "p2"})
			return
		}
		reply(w, 200, api.UserList{Items: []api.User{{Name: "bob", PersonalTenant: "bob"}}})
	case "GET /api/v1/users/alice":
		reply(w, 200, api.User{Name: "alice", PersonalTenant: "alice"})
	case "POST /api/v1/users:batch":
		taken := make([]string, 12)
		for i := range taken {
			taken[i] = fmt.Sprintf("rduser%03d", 10+i)
		}
		problem(w, 409, "conflict", "12 names are taken", taken)
	case "PUT /api/v1/tenants/alice/quotas/default":
		reply(w, 201, api.Quota{Tenant: "alice", Cluster: "default", Tiers: []api.QuotaTier{{Priority: 0, Limits: api.Resources{CPU: 4}}}})
	case "PATCH /api/v1/hosts/node-02":
		reply(w, 200, api.Host{Name: "node-02", State: api.HostStateDraining, InstanceCount: 2})
	case "GET /api/v1/hosts/node-02":
		f.mu.Lock()
		f.drainPolls++
		left := max(0, 2-f.drainPolls)
		f.mu.Unlock()
		state := api.HostStateDraining
		if left == 0 {
			state = api.HostStateCordoned
		}
		reply(w, 200, api.Host{Name: "node-02", State: state, InstanceCount: left})
	case "POST /api/v1/hosts/node-01/labels":
		reply(w, 200, api.Host{Name: "node-01", Labels: map[string]string{"zone": "a"}})
	default:
		problem(w, 404, "not_found", "no such thing", nil)
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, code, detail string, conflicts []string) {
	p := api.Problem{Status: status, Code: api.ProblemCode(code), Title: code, Detail: &detail}
	if conflicts != nil {
		p.Conflicts = &conflicts
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// loggedIn starts a fake API and logs in to it.
func loggedIn(t *testing.T) *fakeAPI {
	t.Helper()
	isolate(t)
	f := &fakeAPI{bodies: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	if _, _, err := runCLI(t, "s3cret-pass\n", "login", "--server", srv.URL, "--username", "admin"); err != nil {
		t.Fatalf("login: %v", err)
	}
	return f
}

func TestLoginLogout(t *testing.T) {
	loggedIn(t)
	path, err := credentialsPath()
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("credentials mode %v, want 0600", info.Mode().Perm())
	}
	creds, err := loadCredentials()
	if err != nil || creds.Token != "nmt_test" || creds.Username != "admin" {
		t.Errorf("saved %+v, %v", creds, err)
	}

	out, _, err := runCLI(t, "", "logout")
	if err != nil || !strings.Contains(out, "Logged out") {
		t.Errorf("logout = %q, %v", out, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("credentials still at %s after logout", filepath.Base(path))
	}
	if _, _, err := runCLI(t, "", "user", "list"); err != errNotLoggedIn {
		t.Errorf("after logout: %v, want errNotLoggedIn", err)
	}
}

func TestLoginWrongPassword(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(&fakeAPI{bodies: map[string]string{}})
	defer srv.Close()
	var errOut bytes.Buffer
	a := &app{in: strings.NewReader("nope\n"), out: io.Discard, errOut: &errOut}
	root := a.rootCmd()
	root.SetArgs([]string{"login", "--server", srv.URL, "--username", "admin"})
	cmd, err := root.ExecuteC()
	if err == nil || !strings.Contains(err.Error(), "wrong user name or password") {
		t.Fatalf("login = %v", err)
	}
	if hint := hintFor(cmd, err); !strings.Contains(hint, "user name and password") {
		t.Errorf("hint = %q", hint)
	}
}

func TestListPages(t *testing.T) {
	f := loggedIn(t)
	out, errOut, err := runCLI(t, "", "user", "list", "--limit", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "admin") || strings.Contains(out, "bob") || !strings.Contains(errOut, "--page-token p2") {
		t.Errorf("one page: stdout %q stderr %q", out, errOut)
	}
	out, errOut, err = runCLI(t, "", "user", "list", "--all", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var users []api.User
	if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 2 || errOut != "" {
		t.Errorf("--all: %v %q (stderr %q)", err, out, errOut)
	}
	if last := f.requests[len(f.requests)-1]; !strings.Contains(last, "limit=1000") || !strings.Contains(last, "page_token=p2") {
		t.Errorf("last request %q", last)
	}
}

func TestBatchConflictListsEveryName(t *testing.T) {
	loggedIn(t)
	_, _, err := runCLI(t, "", "user", "create", "--prefix", "rduser", "--range", "010-021", "--password", "Initial-Pass-1")
	if err == nil {
		t.Fatal("want a conflict")
	}
	for _, name := range []string{"rduser010", "rduser021", "12 of the names"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error lacks %s: %v", name, err)
		}
	}
}

func TestQuotaSetForUser(t *testing.T) {
	f := loggedIn(t)
	out, _, err := runCLI(t, "", "quota", "set", "--user", "alice", "--cluster", "default", "--tier", "cpu=4")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Quota of alice on cluster default") {
		t.Errorf("stdout %q", out)
	}
	if got := f.bodies["PUT /api/v1/tenants/alice/quotas/default"]; strings.TrimSpace(got) != `{"tiers":[{"cpu":4}]}` {
		t.Errorf("body %s: omitted fields must be left to the server", got)
	}
}

func TestHostLabel(t *testing.T) {
	f := loggedIn(t)
	out, _, err := runCLI(t, "", "host", "label", "node-01", "zone=a", "gpu-")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "Labels of host node-01: zone=a" {
		t.Errorf("stdout %q", out)
	}
	if got := f.bodies["POST /api/v1/hosts/node-01/labels"]; strings.TrimSpace(got) != `{"remove":["gpu"],"set":{"zone":"a"}}` {
		t.Errorf("body %s", got)
	}
}

func TestHostDrainWaits(t *testing.T) {
	f := loggedIn(t)
	out, _, err := runCLI(t, "", "host", "drain", "node-02", "--wait")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "Host node-02 is cordoned with 0 instance(s) on it." {
		t.Errorf("stdout %q", out)
	}
	if got := f.bodies["PATCH /api/v1/hosts/node-02"]; strings.TrimSpace(got) != `{"state":"draining"}` {
		t.Errorf("body %s", got)
	}
	if f.drainPolls != 2 {
		t.Errorf("polled the host %d times until it was empty, want 2", f.drainPolls)
	}
}

func TestNotFoundHint(t *testing.T) {
	loggedIn(t)
	var errOut bytes.Buffer
	a := &app{in: strings.NewReader(""), out: io.Discard, errOut: &errOut}
	root := a.rootCmd()
	root.SetArgs([]string{"tenant", "show", "nope"})
	cmd, err := root.ExecuteC()
	if err == nil {
		t.Fatal("want not found")
	}
	if hint := hintFor(cmd, err); !strings.Contains(hint, "`nimbus tenant list`") {
		t.Errorf("hint = %q", hint)
	}
}
