package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// operationIDs lists every operation of the brief; the spec must have exactly these.
var operationIDs = []string{
	"Login", "Logout", "WhoAmI", "ListSessions", "RevokeSession", "ChangePassword",
	"ListUsers", "CreateUser", "BatchCreateUsers", "GetUser", "UpdateUser", "DeleteUser",
	"ListGroups", "CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "AddGroupMember", "RemoveGroupMember",
	"ListTenants", "CreateTenant", "GetTenant", "UpdateTenant", "DeleteTenant",
	"ListMembers", "SetUserRole", "RemoveUserRole", "SetGroupRole", "RemoveGroupRole",
	"ListAPIKeys", "CreateAPIKey", "GetAPIKey", "RevokeAPIKey",
	"ListTenantQuotas", "GetQuota", "PutQuota", "DeleteQuota", "ListQuotas",
	"ListClusters", "CreateCluster", "GetCluster", "UpdateCluster", "DeleteCluster",
	"ListHosts", "CreateHost", "GetHost", "UpdateHost", "UpdateHostLabels", "DeleteHost",
	"CreateJoinToken", "GetHostMetrics",
	"ListAllInstances", "ListInstances", "CreateInstance", "GetInstance", "DeleteInstance", "InstanceAction",
	"ListInstanceEvents", "GetInstanceMetrics", "StreamInstanceLogs", "ExecInstance", "ExplainInstance",
	"AgentJoin", "AgentHeartbeat", "AgentAssignments",
	"ListAudit",
}

// operation is one method on one path of the spec.
type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(t *testing.T) []operation {
	t.Helper()
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method, path, op})
		}
	}
	return ops
}

func TestSpecValidates(t *testing.T) {
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(SpecJSON()) {
		t.Fatal("SpecJSON is not valid JSON")
	}
}

func TestOperationIDs(t *testing.T) {
	var got []string
	for _, o := range operations(t) {
		if o.op.OperationID == "" {
			t.Errorf("%s %s: no operationId", o.method, o.path)
		}
		if !strings.HasPrefix(o.path, "/api/v1/") {
			t.Errorf("%s %s: path not under /api/v1/", o.method, o.path)
		}
		if len(o.op.Tags) != 1 {
			t.Errorf("%s: want one tag, have %v", o.op.OperationID, o.op.Tags)
		}
		got = append(got, o.op.OperationID)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(operationIDs))
	if !slices.Equal(got, want) {
		t.Errorf("operationIds:\n got %v\nwant %v", got, want)
	}
}

func TestProblemResponses(t *testing.T) {
	for _, o := range operations(t) {
		var has4xx bool
		for code, ref := range o.op.Responses.Map() {
			if !strings.HasPrefix(code, "4") && !strings.HasPrefix(code, "5") && code != "default" {
				continue
			}
			has4xx = has4xx || strings.HasPrefix(code, "4")
			mt := ref.Value.Content.Get("application/problem+json")
			if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Problem" {
				t.Errorf("%s %s: not an application/problem+json Problem", o.op.OperationID, code)
			}
		}
		if !has4xx {
			t.Errorf("%s: no 4xx response", o.op.OperationID)
		}
		if o.op.Responses.Default() == nil {
			t.Errorf("%s: no default response", o.op.OperationID)
		}
	}
}

func TestRequestBodiesClosed(t *testing.T) {
	for _, o := range operations(t) {
		if o.op.RequestBody == nil {
			continue
		}
		for ct, mt := range o.op.RequestBody.Value.Content {
			if ct != "application/json" {
				t.Errorf("%s: request content type %s", o.op.OperationID, ct)
			}
			checkClosed(t, o.op.OperationID, mt.Schema, map[*openapi3.Schema]bool{})
		}
	}
}

// checkClosed reports every object schema reachable from ref that allows
// properties it does not name.
func checkClosed(t *testing.T, where string, ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	t.Helper()
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if s.Type.Is("object") {
		ap := s.AdditionalProperties
		isMap := ap.Schema != nil
		closed := ap.Has != nil && !*ap.Has
		if !isMap && !closed {
			t.Errorf("%s: object schema %q lacks additionalProperties: false", where, ref.Ref)
		}
		if isMap {
			checkClosed(t, where, ap.Schema, seen)
		}
	}
	for _, p := range s.Properties {
		checkClosed(t, where, p, seen)
	}
	checkClosed(t, where, s.Items, seen)
	for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf) {
		checkClosed(t, where, sub, seen)
	}
}

// recordingMux records the patterns the generated router registers.
type recordingMux struct {
	*http.ServeMux
	patterns []string
}

func (m *recordingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// samplePath fills the path parameters of a spec path with valid values.
func samplePath(path string) string {
	return strings.NewReplacer(
		"{name}", "abcd", "{user}", "abcd", "{group}", "abcd", "{cluster}", "abcd",
		"{id}", "0190f3a2-0000-7000-8000-000000000000",
		"{app_key}", "nak_abcdefghijklmnopqrstuv",
	).Replace(path)
}

// TestRouting checks that both net/http's ServeMux (the generated router) and
// kin-openapi's gorillamux router (request validation) route every operation,
// including the colon path /api/v1/users:batch, to itself.
func TestRouting(t *testing.T) {
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	kin, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	mux := &recordingMux{ServeMux: http.NewServeMux()}
	HandlerWithOptions(nil, StdHTTPServerOptions{BaseRouter: mux})
	ops := operations(t)
	if len(mux.patterns) != len(ops) {
		t.Errorf("ServeMux has %d patterns, spec %d operations", len(mux.patterns), len(ops))
	}
	for _, o := range ops {
		req := httptest.NewRequest(o.method, samplePath(o.path), nil)
		if _, pattern := mux.Handler(req); pattern != o.method+" "+o.path {
			t.Errorf("%s: ServeMux routes %s %s to %q", o.op.OperationID, req.Method, req.URL.Path, pattern)
		}
		route, _, err := kin.FindRoute(req)
		if err != nil {
			t.Errorf("%s: kin-openapi: %v", o.op.OperationID, err)
			continue
		}
		if route.Operation.OperationID != o.op.OperationID {
			t.Errorf("%s: kin-openapi routes %s %s to %s", o.op.OperationID, req.Method, req.URL.Path, route.Operation.OperationID)
		}
	}
}

// TestRequestValidation checks that kin-openapi's request validator, which the
// server runs before the handlers, accepts a good body and rejects unknown
// fields and pattern violations.
func TestRequestValidation(t *testing.T) {
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	kin, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path, body string
		ok                 bool
	}{
		{"POST", "/api/v1/users:batch", `{"prefix":"stu","range":"003-050","password":"secret123"}`, true},
		{"POST", "/api/v1/users:batch", `{"prefix":"stu","range":"003-050","password":"secret123","extra":1}`, false},
		{"POST", "/api/v1/users", `{"name":"alice","email":"alice@example.com"}`, true},
		{"POST", "/api/v1/users", `{"name":"Alice"}`, false},
		{"POST", "/api/v1/hosts", `{"name":"node-01","cluster":"default","capacity":{"cpu":8,"memory_mib":16384,"disk_mib":0,"network_mbps":1000}}`, true},
		{"POST", "/api/v1/hosts", `{"name":"node-01","cluster":"default","capacity":{"cpu":8,"memory_mib":16384,"disk_mib":0,"network_mbps":1000,"gpu":1}}`, false},
		{"PUT", "/api/v1/tenants/RD_Dept/quotas/default", `{"tiers":[{"priority":1,"cpu":4}]}`, true},
		{"PUT", "/api/v1/tenants/RD_Dept/quotas/default", `{"tiers":[]}`, false},
		{"PATCH", "/api/v1/hosts/node-01", `{"state":"down"}`, false},
		{"GET", "/api/v1/hosts?label=zone%3Da&label=%21gpu&limit=10", ``, true},
		{"GET", "/api/v1/hosts?limit=0", ``, false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := kin.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		})
		if (err == nil) != tt.ok {
			t.Errorf("%s %s %s: ok=%v, err=%v", tt.method, tt.path, tt.body, tt.ok, err)
		}
	}
}
