package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// problemDoc is what every error answer must be.
type problemDoc struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func readProblem(t testing.TB, res *http.Response) problemDoc {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p problemDoc
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("problem is not JSON: %v: %s", err, raw)
	}
	if p.Status != res.StatusCode || p.Code == "" || !strings.HasPrefix(p.Type, "https://nimbus.dev/problems/") {
		t.Fatalf("malformed problem for status %d: %s", res.StatusCode, raw)
	}
	return p
}

// snapshot counts what a rejected request must not change.
func snapshot(t testing.TB, e *env) [5]int {
	var n [5]int
	ctx := context.Background()
	err := e.store.Read(ctx, func(tx store.Tx) error {
		users, _, err := tx.ListUsers(ctx, store.UserFilter{Page: store.Page{Limit: 1000}})
		if err != nil {
			return err
		}
		tenants, _, err := tx.ListTenants(ctx, store.TenantFilter{Page: store.Page{Limit: 1000}})
		if err != nil {
			return err
		}
		hosts, _, err := tx.ListHosts(ctx, store.HostFilter{Page: store.Page{Limit: 1000}})
		if err != nil {
			return err
		}
		instances, _, err := tx.ListInstances(ctx, store.InstanceFilter{Page: store.Page{Limit: 1000}})
		if err != nil {
			return err
		}
		audit, _, err := tx.ListAudit(ctx, store.AuditFilter{Result: store.AuditSuccess, Page: store.Page{Limit: 1000}})
		n = [5]int{len(users), len(tenants), len(hosts), len(instances), len(audit)}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"malformed json", "POST", "/api/v1/users", `{"name":`, 400, "invalid_json", ""},
		{"not an object", "POST", "/api/v1/tenants", `[1,2]`, 400, "invalid_field", ""},
		{"wrong type", "POST", "/api/v1/users", `{"name":42}`, 400, "invalid_field", "name"},
		{"unknown field", "POST", "/api/v1/tenants", `{"name":"Good","colour":"red"}`, 400, "unknown_field", "colour"},
		{"nested unknown field", "PUT", "/api/v1/tenants/admin/quotas/default", `{"tiers":[{"priority":0,"gpu":1}]}`, 400, "unknown_field", "tiers[0].gpu"},
		{"missing required", "POST", "/api/v1/groups", `{"description":"x"}`, 400, "invalid_field", "name"},
		{"bad pattern", "POST", "/api/v1/users", `{"name":"Bad Name"}`, 400, "invalid_field", "name"},
		{"bad email", "POST", "/api/v1/users", `{"name":"carol","email":"not-an-email"}`, 400, "invalid_field", "email"},
		{"short host name", "POST", "/api/v1/hosts", `{"name":"ab","cluster":"default","capacity":{"cpu":1,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`, 400, "invalid_field", "name"},
		{"host name dash end", "POST", "/api/v1/hosts", `{"name":"abcd-","cluster":"default","capacity":{"cpu":1,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`, 400, "invalid_field", "name"},
		{"bad label key", "POST", "/api/v1/hosts/x-host/labels", `{"set":{"-bad":"v"}}`, 400, "invalid_field", ""},
		{"huge capacity", "POST", "/api/v1/hosts", `{"name":"big-host","cluster":"default","capacity":{"cpu":1e308,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`, 400, "invalid_field", "capacity.cpu"},
		{"huge memory", "POST", "/api/v1/hosts", `{"name":"big-host","cluster":"default","capacity":{"cpu":1,"memory_mib":9223372036854775807,"disk_mib":1,"network_mbps":1}}`, 400, "invalid_field", "capacity.memory_mib"},
		{"huge quota", "PUT", "/api/v1/tenants/admin/quotas/default", `{"tiers":[{"priority":0,"memory_mib":9223372036854775807}]}`, 400, "invalid_field", "tiers[0].memory_mib"},
		{"bad range", "POST", "/api/v1/users:batch", `{"prefix":"u","range":"50-3","password":"long-enough-1"}`, 400, "invalid_field", "range"},
		{"short password", "POST", "/api/v1/users", `{"name":"carol","password":"short"}`, 400, "invalid_field", "password"},
		{"role without tenant", "POST", "/api/v1/users", `{"name":"carol","role":"admin"}`, 400, "invalid_field", "tenant"},
		{"bad limit", "GET", "/api/v1/users?limit=0", "", 400, "invalid_field", "limit"},
		{"bad page token", "GET", "/api/v1/users?page_token=zzz", "", 400, "invalid_field", "page_token"},
		{"bad enum", "POST", "/api/v1/clusters", `{"name":"c2","strategy":"random"}`, 400, "invalid_field", "strategy"},
		{"overcommit too high", "POST", "/api/v1/clusters", `{"name":"c2","cpu_overcommit":100}`, 400, "invalid_field", "cpu_overcommit"},
		{"duplicate tier", "PUT", "/api/v1/tenants/admin/quotas/default", `{"tiers":[{"priority":1},{"priority":1}]}`, 0, "", ""},
		{"empty body", "POST", "/api/v1/tenants", ``, 400, "invalid_json", ""},
		{"not json", "POST", "/api/v1/tenants", `name=Abc`, 415, "unsupported_media_type", "Content-Type"},
		{"huge body", "POST", "/api/v1/tenants", `{"name":"Huge","description":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "body_too_large", ""},
		{"process without command", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process"}}`, 400, "invalid_field", "spec.command"},
		{"process with image", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"image":"x"}}`, 400, "invalid_field", "spec.image"},
		{"docker without image", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"docker"}}`, 400, "invalid_field", "spec.image"},
		{"unknown driver", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"lxc","command":["true"]}}`, 400, "invalid_field", "spec.driver"},
		{"bad instance name", "POST", "/api/v1/tenants/admin/instances", `{"name":"Web_1","spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "name"},
		{"bad env name", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"env":{"1X":"y"}}}`, 400, "invalid_field", "spec.env.1X"},
		{"port twice", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"docker","image":"x","ports":[{"host_port":80,"container_port":80},{"host_port":80,"container_port":81}]}}`, 400, "invalid_field", "spec.ports[1].host_port"},
		{"port out of range", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"docker","image":"x","ports":[{"host_port":70000,"container_port":80}]}}`, 400, "invalid_field", "spec.ports[0].host_port"},
		{"http check without port", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"health_check":{"type":"http"}}}`, 400, "invalid_field", "spec.health_check.port"},
		{"exec check without command", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"health_check":{"type":"exec"}}}`, 400, "invalid_field", "spec.health_check.command"},
		{"back-off below its start", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"restart":{"backoff_ms":5000,"max_backoff_ms":10}}}`, 400, "invalid_field", "spec.restart.max_backoff_ms"},
		{"bad constraint", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","constraints":["=x"],"spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "constraints[0]"},
		{"ports on a process", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"ports":[{"host_port":80,"container_port":80}]}}`, 400, "invalid_field", "spec.ports"},
		{"too little cpu", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"cpu":0.001}}`, 400, "invalid_field", "spec.cpu"},
		{"too much cpu", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"cpu":5000}}`, 400, "invalid_field", "spec.cpu"},
		{"relative volume", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"docker","image":"x","volumes":[{"source":"data","target":"/data"}]}}`, 400, "invalid_field", "spec.volumes[0].source"},
		{"empty in list", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","constraints":["zone in ()"],"spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "constraints[0]"},
		{"group without policy", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","group":"web","spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "group_policy"},
		{"policy without group", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","group_policy":"same-host","spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "group"},
		{"unknown group policy", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","group":"web","group_policy":"near","spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "group_policy"},
		{"bad zone", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","zone":"a b","spec":{"driver":"process","command":["true"]}}`, 400, "invalid_field", "zone"},
		{"bad arch", "POST", "/api/v1/tenants/admin/instances", `{"name":"a","spec":{"driver":"process","command":["true"],"arch":"AMD 64"}}`, 400, "invalid_field", "spec.arch"},
		{"bad host zone", "PATCH", "/api/v1/hosts/x-host", `{"zone":"-a"}`, 400, "invalid_field", "zone"},
		{"bad reserved tenant", "PATCH", "/api/v1/hosts/x-host", `{"isolated_tenants":["no spaces allowed"]}`, 400, "invalid_field", "isolated_tenants[0]"},
		{"max starting zero", "PATCH", "/api/v1/clusters/default", `{"max_starting_per_host":0}`, 400, "invalid_field", "max_starting_per_host"},
		{"bad action", "POST", "/api/v1/tenants/admin/instances" + "/nope/actions", `{"action":"pause"}`, 400, "invalid_field", "action"},
		{"join token ttl too long", "POST", "/api/v1/clusters/default/join-tokens", `{"ttl_seconds":99999999}`, 400, "invalid_field", "ttl_seconds"},
		{"heartbeat from a user", "POST", "/api/v1/agent/heartbeat", `{}`, 403, "forbidden", ""},
		{"unknown endpoint", "GET", "/api/v1/nothing", "", 404, "not_found", ""},
		{"no credentials", "GET", "/api/v1/tenants", "", 401, "unauthenticated", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, e)
			caller := e.admin
			if c.code == "unauthenticated" {
				caller = nil
			}
			contentType := "application/json"
			if c.code == "unsupported_media_type" {
				contentType = "text/plain"
			}
			res := e.do(t, caller, c.method, c.path, contentType, strings.NewReader(c.body))
			if c.status == 0 {
				if res.StatusCode < 400 || res.StatusCode >= 500 {
					t.Fatalf("status %d, want 4xx", res.StatusCode)
				}
			} else if res.StatusCode != c.status {
				raw, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, raw)
			}
			p := readProblem(t, res)
			if c.code != "" && p.Code != c.code {
				t.Errorf("code %q, want %q (%s)", p.Code, c.code, p.Detail)
			}
			if c.field != "" && p.Field != c.field {
				t.Errorf("field %q, want %q (%s)", p.Field, c.field, p.Detail)
			}
			if after := snapshot(t, e); after != before {
				t.Errorf("rejected request changed the store: %v -> %v", before, after)
			}
		})
	}
}

// FuzzCreateRequests throws arbitrary bodies at the create endpoints: the
// server never fails with a 5xx, every rejection is a problem document, and
// a rejection writes nothing.
func FuzzCreateRequests(f *testing.F) {
	paths := []string{"/api/v1/users", "/api/v1/tenants", "/api/v1/groups", "/api/v1/clusters", "/api/v1/hosts",
		"/api/v1/users:batch", "/api/v1/tenants/admin/quotas/default", "/api/v1/hosts/x-host/labels", "/api/v1/tenants/admin/apikeys",
		"/api/v1/tenants/admin/instances", "/api/v1/clusters/default/join-tokens", "/api/v1/agent/join"}
	seeds := []string{`{"name":"carol"}`, `{"name":"Team_1","description":"d"}`, `{"prefix":"u","range":"1-3","password":"long-enough-1"}`,
		`{"tiers":[{"priority":0,"cpu":2}]}`, `{"name":"host-1","cluster":"default","capacity":{"cpu":1,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`,
		`{"set":{"a":"b"},"remove":["c"]}`, `{"permissions":["tenant:read"]}`, `{"name":"\u0000"}`, `null`, `{"name":1e999}`,
		`{"name":"web","spec":{"driver":"process","command":["sleep","1"],"ports":[{"host_port":8080,"container_port":80}],"health_check":{"type":"http","port":80}}}`,
		`{"name":"db","zone":"b","group":"db","group_policy":"different-host","priority":0,"constraints":["disk in (ssd,nvme)","!gpu"],"spec":{"driver":"docker","image":"x","arch":"amd64"}}`,
		`{"ttl_seconds":60,"labels":{"zone":"a"}}`, `{"token":"njt_x","host_name":"edge-1","capacity":{"cpu":1,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	e := newEnv(f, store.DialectSQLite)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		method := "POST"
		if strings.Contains(path, "/quotas/") {
			method = "PUT"
		}
		before := snapshot(t, e)
		res := e.do(t, e.admin, method, path, "application/json", strings.NewReader(body))
		if res.StatusCode >= 500 {
			raw, _ := io.ReadAll(res.Body)
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, res.StatusCode, raw)
		}
		if res.StatusCode >= 400 {
			readProblem(t, res)
			if after := snapshot(t, e); after != before {
				t.Fatalf("rejected %q changed the store: %v -> %v", body, before, after)
			}
		}
	})
}
