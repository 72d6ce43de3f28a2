package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// infraPassword is the password of every user these tests create.
const infraPassword = "infra-secret-1"

// infra holds the callers of the cluster, host, quota and audit tests:
// tenant Ops with an admin (olga) and a viewer (victor), and tenant Dev
// with an admin (dana).
type infra struct {
	*env
	olga, victor, dana *client.Client
}

func newInfra(t *testing.T, e *env) *infra {
	in := &infra{env: e}
	in.runAll(t, []apiCall{
		{name: "tenant Ops", method: "POST", path: "/tenants", body: `{"name":"Ops"}`, status: 201},
		{name: "tenant Dev", method: "POST", path: "/tenants", body: `{"name":"Dev"}`, status: 201},
		{name: "olga", method: "POST", path: "/users", body: userBody("olga", "Ops", "admin"), status: 201},
		{name: "victor", method: "POST", path: "/users", body: userBody("victor", "Ops", "viewer"), status: 201},
		{name: "dana", method: "POST", path: "/users", body: userBody("dana", "Dev", "admin"), status: 201},
	})
	if t.Failed() {
		t.FailNow()
	}
	in.olga, in.victor, in.dana = e.login("olga", infraPassword), e.login("victor", infraPassword), e.login("dana", infraPassword)
	return in
}

// userBody is a UserCreate document giving the new user role in tenant.
func userBody(name, tenant, role string) string {
	return fmt.Sprintf(`{"name":%q,"password":%q,"tenant":%q,"role":%q}`, name, infraPassword, tenant, role)
}

// apiCall is one request and the answer it must get.
type apiCall struct {
	name   string
	caller *client.Client // nil: the platform admin
	method string
	path   string // under /api/v1
	body   string
	status int
	field  string // the problem's field, when status is an error
}

// run sends s and checks its status and problem field; it returns the body.
func (in *infra) run(t *testing.T, s apiCall) []byte {
	t.Helper()
	caller := s.caller
	if caller == nil {
		caller = in.admin
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	res := in.do(t, caller, s.method, "/api/v1"+s.path, "application/json", body)
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != s.status {
		t.Errorf("%s: %s %s: status %d, want %d: %s", s.name, s.method, s.path, res.StatusCode, s.status, raw)
		return raw
	}
	if s.status >= 400 {
		var p api.Problem
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Errorf("%s: problem: %v: %s", s.name, err, raw)
		} else if got := orZero(p.Field); got != s.field {
			t.Errorf("%s: field %q, want %q: %s", s.name, got, s.field, raw)
		}
	}
	return raw
}

// runAll runs the steps in order.
func (in *infra) runAll(t *testing.T, steps []apiCall) {
	t.Helper()
	for _, s := range steps {
		in.run(t, s)
	}
}

// get sends a GET that must succeed and decodes its answer into v.
func (in *infra) get(t *testing.T, caller *client.Client, path string, v any) {
	t.Helper()
	raw := in.run(t, apiCall{name: "get " + path, caller: caller, method: "GET", path: path, status: http.StatusOK})
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v: %s", path, err, raw)
	}
}

func orZero[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

const hostCapacity = `"capacity":{"cpu":4,"memory_mib":1000,"disk_mib":50000,"network_mbps":1000}`

// hostBody is a HostCreate document with the given extra fields.
func hostBody(name, cluster, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"name":%q,"cluster":%q,%s%s}`, name, cluster, hostCapacity, extra)
}

func TestClusterAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		in := newInfra(t, e)
		in.runAll(t, []apiCall{
			{name: "create", method: "POST", path: "/clusters", body: `{"name":"edge"}`, status: 201},
			{name: "taken", method: "POST", path: "/clusters", body: `{"name":"edge"}`, status: 409, field: "name"},
			{name: "bad name", method: "POST", path: "/clusters", body: `{"name":"1edge"}`, status: 400, field: "name"},
			{name: "overcommit", method: "POST", path: "/clusters", body: `{"name":"big","cpu_overcommit":11}`, status: 400, field: "cpu_overcommit"},
			{name: "registry path", method: "POST", path: "/clusters", body: `{"name":"reg","registry":"reg.example.com/Team"}`, status: 400, field: "registry"},
			{name: "registry port", method: "POST", path: "/clusters", body: `{"name":"reg","registry":"reg.example.com:99999"}`, status: 400, field: "registry"},
			{name: "strategy", method: "POST", path: "/clusters", body: `{"name":"odd","strategy":"random"}`, status: 400, field: "strategy"},
			{name: "no owner", method: "POST", path: "/clusters", body: `{"name":"ghost","owner_tenant":"NoSuch"}`, status: 404},
			{name: "update", method: "PATCH", path: "/clusters/edge", body: `{"cpu_overcommit":2,"memory_overcommit":1.5,"strategy":"binpack","registry":"reg.example.com:5000/team"}`, status: 200},
			{name: "update missing", method: "PATCH", path: "/clusters/nosuch", body: `{}`, status: 404},
			{name: "update registry", method: "PATCH", path: "/clusters/edge", body: `{"registry":"reg.example.com/Team"}`, status: 400, field: "registry"},
			{name: "delete missing", method: "DELETE", path: "/clusters/nosuch", status: 404},

			{name: "tenant admin, own tenant", caller: in.olga, method: "POST", path: "/clusters", body: `{"name":"ops-c","owner_tenant":"Ops"}`, status: 201},
			{name: "tenant admin, platform", caller: in.olga, method: "POST", path: "/clusters", body: `{"name":"plat"}`, status: 403},
			{name: "tenant admin, other tenant", caller: in.olga, method: "POST", path: "/clusters", body: `{"name":"dev-c","owner_tenant":"Dev"}`, status: 404},
			{name: "viewer creates", caller: in.victor, method: "POST", path: "/clusters", body: `{"name":"ops-v","owner_tenant":"Ops"}`, status: 403},
			{name: "viewer reads", caller: in.victor, method: "GET", path: "/clusters/ops-c", status: 200},
			{name: "viewer changes", caller: in.victor, method: "PATCH", path: "/clusters/ops-c", body: `{"description":"x"}`, status: 403},
			{name: "tenant admin changes", caller: in.olga, method: "PATCH", path: "/clusters/ops-c", body: `{"description":"ours"}`, status: 200},
			{name: "tenant admin changes platform", caller: in.olga, method: "PATCH", path: "/clusters/default", body: `{"description":"x"}`, status: 403},
			{name: "outsider reads", caller: in.dana, method: "GET", path: "/clusters/ops-c", status: 404},
			{name: "outsider deletes", caller: in.dana, method: "DELETE", path: "/clusters/ops-c", status: 404},
			{name: "outsider reads platform", caller: in.dana, method: "GET", path: "/clusters/default", status: 200},
		})

		var created api.Cluster
		in.get(t, nil, "/clusters/ops-c", &created)
		if orZero(created.OwnerTenant) != "Ops" || created.Strategy != "spread" || created.CPUOvercommit != 1 ||
			created.MemoryOvercommit != 1 || created.Description != "ours" {
			t.Errorf("ops-c: %+v", created)
		}

		var list api.ClusterList
		in.get(t, in.dana, "/clusters", &list)
		if got := clusterNames(list); !slices.Equal(got, []string{"default", "edge"}) {
			t.Errorf("dana sees clusters %v", got)
		}
		in.get(t, in.victor, "/clusters?name_prefix=ops", &list)
		if got := clusterNames(list); !slices.Equal(got, []string{"ops-c"}) {
			t.Errorf("victor sees clusters %v", got)
		}

		// Totals and allocatable follow the hosts and the overcommit ratios.
		in.run(t, apiCall{name: "host", method: "POST", path: "/hosts", body: hostBody("edge-1", "edge", ""), status: 201})
		var edge api.Cluster
		in.get(t, nil, "/clusters/edge", &edge)
		want := api.Capacity{CPU: 8, MemoryMib: 1500, DiskMib: 50000, NetworkMbps: 1000}
		if edge.HostCount != 1 || edge.Capacity.CPU != 4 || edge.Allocatable != want || edge.Registry != "reg.example.com:5000/team" {
			t.Errorf("edge: %+v", edge)
		}
		in.runAll(t, []apiCall{
			{name: "delete with host", method: "DELETE", path: "/clusters/edge", status: 409},
			{name: "delete host", method: "DELETE", path: "/hosts/edge-1", status: 204},
			{name: "clear registry", method: "PATCH", path: "/clusters/edge", body: `{"registry":""}`, status: 200},
			{name: "delete", method: "DELETE", path: "/clusters/edge", status: 204},
			{name: "deleted", method: "GET", path: "/clusters/edge", status: 404},
		})
	})
}

func clusterNames(l api.ClusterList) []string {
	var names []string
	for _, c := range l.Items {
		names = append(names, c.Name)
	}
	return names
}

func hostNames(l api.HostList) []string {
	names := []string{}
	for _, h := range l.Items {
		names = append(names, h.Name)
	}
	return names
}

func TestHostAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		in := newInfra(t, e)
		in.runAll(t, []apiCall{
			{name: "cluster", method: "POST", path: "/clusters", body: `{"name":"lab","cpu_overcommit":2,"memory_overcommit":1.5}`, status: 201},
			{name: "create", method: "POST", path: "/hosts", body: hostBody("lab-1", "lab", `"labels":{"zone":"a","gpu":"yes"},"address":"10.0.0.1","os":"linux","arch":"amd64"`), status: 201},
			{name: "create 2", method: "POST", path: "/hosts", body: hostBody("lab-2", "lab", `"labels":{"zone":"b"}`), status: 201},
			{name: "create 3", method: "POST", path: "/hosts", body: hostBody("lab-3", "lab", ""), status: 201},
			{name: "taken", method: "POST", path: "/hosts", body: hostBody("lab-1", "lab", ""), status: 409, field: "name"},
			{name: "bad name", method: "POST", path: "/hosts", body: hostBody("-lab", "lab", ""), status: 400, field: "name"},
			{name: "no cluster", method: "POST", path: "/hosts", body: hostBody("lab-9", "nosuch", ""), status: 404},
			{name: "zero cpu", method: "POST", path: "/hosts", body: `{"name":"lab-9","cluster":"lab","capacity":{"cpu":0,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`, status: 400, field: "capacity.cpu"},
			{name: "zero disk", method: "POST", path: "/hosts", body: `{"name":"lab-9","cluster":"lab","capacity":{"cpu":1,"memory_mib":1,"disk_mib":0,"network_mbps":1}}`, status: 400, field: "capacity.disk_mib"},
			{name: "bad address", method: "POST", path: "/hosts", body: hostBody("lab-9", "lab", `"address":"1.2.3.999"`), status: 400, field: "address"},
			{name: "bad port", method: "POST", path: "/hosts", body: hostBody("lab-9", "lab", `"address":"10.0.0.1:0"`), status: 400, field: "address"},
			{name: "bad label key", method: "POST", path: "/hosts", body: hostBody("lab-9", "lab", `"labels":{"-zone":"a"}`), status: 400, field: "labels"},

			{name: "state down", method: "PATCH", path: "/hosts/lab-2", body: `{"state":"down"}`, status: 400, field: "state"},
			{name: "cordon", method: "PATCH", path: "/hosts/lab-2", body: `{"state":"cordoned"}`, status: 200},
			{name: "address", method: "PATCH", path: "/hosts/lab-3", body: `{"address":"[::1]:22"}`, status: 200},
			{name: "update missing", method: "PATCH", path: "/hosts/nosuch", body: `{"state":"ready"}`, status: 404},
			{name: "label both", method: "POST", path: "/hosts/lab-3/labels", body: `{"set":{"zone":"c"},"remove":["zone"]}`, status: 400, field: "remove[0]"},
			{name: "label key", method: "POST", path: "/hosts/lab-3/labels", body: `{"set":{"a b":"c"}}`, status: 400, field: "set"},
			{name: "label", method: "POST", path: "/hosts/lab-3/labels", body: `{"set":{"zone":"c","tmp":"x"}}`, status: 200},
			{name: "unlabel", method: "POST", path: "/hosts/lab-3/labels", body: `{"remove":["tmp","absent"]}`, status: 200},
			{name: "bad term", method: "GET", path: "/hosts?label=a%3Db%3Dc", status: 400, field: "label"},
			{name: "empty key", method: "GET", path: "/hosts?label=%3Dx", status: 400, field: "label"},
		})

		var h, h3 api.Host // separate: decoding into a used map merges
		in.get(t, nil, "/hosts/lab-1", &h)
		wantAlloc := api.Capacity{CPU: 8, MemoryMib: 1500, DiskMib: 50000, NetworkMbps: 1000}
		if h.Cluster != "lab" || h.State != "ready" || h.Address != "10.0.0.1" || h.OS != "linux" ||
			h.Allocatable != wantAlloc || h.Labels["gpu"] != "yes" {
			t.Errorf("lab-1: %+v", h)
		}
		in.get(t, nil, "/hosts/lab-3", &h3)
		if h3.Address != "[::1]:22" || len(h3.Labels) != 1 || h3.Labels["zone"] != "c" {
			t.Errorf("lab-3: %+v", h3)
		}

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"label=zone%3Da", []string{"lab-1"}},
			{"label=zone!%3Da", []string{"lab-2", "lab-3"}},
			{"label=gpu", []string{"lab-1"}},
			{"label=!gpu", []string{"lab-2", "lab-3"}},
			{"label=zone&label=!gpu&label=zone!%3Dc", []string{"lab-2"}},
			{"state=cordoned", []string{"lab-2"}},
			{"name_prefix=lab-", []string{"lab-1", "lab-2", "lab-3"}},
			{"name_prefix=lab-3", []string{"lab-3"}},
		} {
			var l api.HostList
			in.get(t, nil, "/hosts?cluster=lab&"+tc.query, &l)
			if got := hostNames(l); !slices.Equal(got, tc.want) {
				t.Errorf("hosts?%s: %v, want %v", tc.query, got, tc.want)
			}
		}
	})
}

func TestHostVisibility(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		in := newInfra(t, e)
		in.runAll(t, []apiCall{
			{name: "ops cluster", caller: in.olga, method: "POST", path: "/clusters", body: `{"name":"ops-c","owner_tenant":"Ops"}`, status: 201},
			{name: "ops cluster 2", caller: in.olga, method: "POST", path: "/clusters", body: `{"name":"ops-d","owner_tenant":"Ops"}`, status: 201},
			{name: "dev cluster", caller: in.dana, method: "POST", path: "/clusters", body: `{"name":"dev-c","owner_tenant":"Dev"}`, status: 201},
			// Host names interleave, so a filtered page must skip others' hosts.
			{name: "platform host", method: "POST", path: "/hosts", body: hostBody("host-a", "default", ""), status: 201},
			{name: "ops host", caller: in.olga, method: "POST", path: "/hosts", body: hostBody("host-b", "ops-c", ""), status: 201},
			{name: "dev host", caller: in.dana, method: "POST", path: "/hosts", body: hostBody("host-c", "dev-c", ""), status: 201},
			{name: "ops host 2", caller: in.olga, method: "POST", path: "/hosts", body: hostBody("host-d", "ops-d", ""), status: 201},
			{name: "platform host 2", method: "POST", path: "/hosts", body: hostBody("host-e", "default", ""), status: 201},
			{name: "ops host 3", method: "POST", path: "/hosts", body: hostBody("host-f", "ops-c", ""), status: 201},

			{name: "tenant admin, platform cluster", caller: in.olga, method: "POST", path: "/hosts", body: hostBody("host-x", "default", ""), status: 403},
			{name: "tenant admin, other tenant", caller: in.olga, method: "POST", path: "/hosts", body: hostBody("host-x", "dev-c", ""), status: 404},
			{name: "viewer creates", caller: in.victor, method: "POST", path: "/hosts", body: hostBody("host-x", "ops-c", ""), status: 403},
			{name: "viewer reads", caller: in.victor, method: "GET", path: "/hosts/host-b", status: 200},
			{name: "viewer cordons", caller: in.victor, method: "PATCH", path: "/hosts/host-b", body: `{"state":"cordoned"}`, status: 403},
			{name: "viewer labels", caller: in.victor, method: "POST", path: "/hosts/host-b/labels", body: `{"set":{"a":"b"}}`, status: 403},
			{name: "tenant admin cordons", caller: in.olga, method: "PATCH", path: "/hosts/host-b", body: `{"state":"cordoned"}`, status: 200},
			{name: "platform host hidden", caller: in.olga, method: "GET", path: "/hosts/host-a", status: 404},
			{name: "platform host not deleted", caller: in.olga, method: "DELETE", path: "/hosts/host-a", status: 404},
			{name: "other tenant's host", caller: in.olga, method: "GET", path: "/hosts/host-c", status: 404},
			{name: "other tenant's host labels", caller: in.dana, method: "POST", path: "/hosts/host-b/labels", body: `{"set":{"a":"b"}}`, status: 404},
			{name: "other tenant's cluster", caller: in.dana, method: "GET", path: "/hosts?cluster=ops-c", status: 404},
		})

		for _, tc := range []struct {
			who    string
			caller *client.Client
			query  string
			want   []string
		}{
			{"admin", nil, "", []string{"host-a", "host-b", "host-c", "host-d", "host-e", "host-f"}},
			{"olga", in.olga, "", []string{"host-b", "host-d", "host-f"}},
			{"victor", in.victor, "", []string{"host-b", "host-d", "host-f"}},
			{"victor", in.victor, "?cluster=ops-c", []string{"host-b", "host-f"}},
			{"victor", in.victor, "?cluster=default", []string{}},
			{"victor", in.victor, "?name_prefix=host-d", []string{"host-d"}},
			{"victor", in.victor, "?state=cordoned", []string{"host-b"}},
			{"dana", in.dana, "", []string{"host-c"}},
		} {
			var l api.HostList
			in.get(t, tc.caller, "/hosts"+tc.query, &l)
			if got := hostNames(l); !slices.Equal(got, tc.want) {
				t.Errorf("%s: hosts%s: %v, want %v", tc.who, tc.query, got, tc.want)
			}
		}

		// An API key reads the hosts of its tenant only, with its permissions.
		raw := in.run(t, apiCall{name: "key", caller: in.olga, method: "POST", path: "/tenants/Ops/apikeys",
			body: `{"permissions":["tenant:read","host:read"]}`, status: 201})
		var created api.APIKeyCreated
		if err := json.Unmarshal(raw, &created); err != nil {
			t.Fatal(err)
		}
		key, err := client.New(e.url, client.WithAPIKey(created.APIKey.AppKey, created.AppSecret))
		if err != nil {
			t.Fatal(err)
		}
		var l api.HostList
		in.get(t, key, "/hosts", &l)
		if got, want := hostNames(l), []string{"host-b", "host-d", "host-f"}; !slices.Equal(got, want) {
			t.Errorf("API key: hosts %v, want %v", got, want)
		}
		in.runAll(t, []apiCall{
			{name: "key reads host", caller: key, method: "GET", path: "/hosts/host-d", status: 200},
			{name: "key cordons", caller: key, method: "PATCH", path: "/hosts/host-d", body: `{"state":"cordoned"}`, status: 403},
			{name: "key reads cluster", caller: key, method: "GET", path: "/clusters/ops-c", status: 403},
			{name: "key reads platform host", caller: key, method: "GET", path: "/hosts/host-a", status: 404},
		})

		// Paging one host at a time through a filtered list loses nothing.
		var got []string
		token := ""
		for range 10 {
			var l api.HostList
			in.get(t, in.victor, "/hosts?limit=1&page_token="+url.QueryEscape(token), &l)
			got = append(got, hostNames(l)...)
			if token = l.NextPageToken; token == "" {
				break
			}
		}
		if want := []string{"host-b", "host-d", "host-f"}; !slices.Equal(got, want) {
			t.Errorf("paged: %v, want %v", got, want)
		}
	})
}

func TestQuotaAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		in := newInfra(t, e)
		tiers17 := `{"tiers":[` + strings.TrimSuffix(strings.Repeat(`{},`, 17), ",") + `]}`
		in.runAll(t, []apiCall{
			{name: "dev cluster", caller: in.dana, method: "POST", path: "/clusters", body: `{"name":"dev-c","owner_tenant":"Dev"}`, status: 201},
			{name: "create", method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[{}]}`, status: 201},
			{name: "replace", method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[{"priority":5},{"priority":0,"cpu":8.5,"memory_mib":2048}]}`, status: 200},
			{name: "repeated priority", method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[{"priority":1},{"priority":2},{"priority":1}]}`, status: 400, field: "tiers[2].priority"},
			{name: "repeated default priority", method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[{},{}]}`, status: 400, field: "tiers[1].priority"},
			{name: "too many tiers", method: "PUT", path: "/tenants/Ops/quotas/default", body: tiers17, status: 400, field: "tiers"},
			{name: "no tiers", method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[]}`, status: 400, field: "tiers"},
			{name: "zero cpu", method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[{"cpu":0}]}`, status: 400, field: "tiers[0].cpu"},
			{name: "no tenant", method: "PUT", path: "/tenants/Nope/quotas/default", body: `{"tiers":[{}]}`, status: 404},
			{name: "no cluster", method: "PUT", path: "/tenants/Ops/quotas/nope", body: `{"tiers":[{}]}`, status: 404},
			{name: "another tenant's cluster", method: "PUT", path: "/tenants/Ops/quotas/dev-c", body: `{"tiers":[{}]}`, status: 409, field: "cluster"},
			{name: "owner's cluster", method: "PUT", path: "/tenants/Dev/quotas/dev-c", body: `{"tiers":[{}]}`, status: 201},
			{name: "tenant admin puts", caller: in.olga, method: "PUT", path: "/tenants/Ops/quotas/default", body: `{"tiers":[{}]}`, status: 403},
			{name: "tenant admin deletes", caller: in.olga, method: "DELETE", path: "/tenants/Ops/quotas/default", status: 403},
			{name: "viewer reads", caller: in.victor, method: "GET", path: "/tenants/Ops/quotas/default", status: 200},
			{name: "outsider reads", caller: in.dana, method: "GET", path: "/tenants/Ops/quotas/default", status: 404},
			{name: "outsider lists", caller: in.dana, method: "GET", path: "/tenants/Ops/quotas", status: 404},
			{name: "outsider names a hidden cluster", caller: in.olga, method: "GET", path: "/tenants/Ops/quotas/dev-c", status: 404},
			{name: "not platform admin", caller: in.olga, method: "GET", path: "/quotas", status: 403},
			{name: "unknown cluster filter", method: "GET", path: "/quotas?cluster=nope", status: 404},
			{name: "cluster with quota", method: "DELETE", path: "/clusters/dev-c", status: 409},
		})

		var q api.Quota
		in.get(t, in.victor, "/tenants/Ops/quotas/default", &q)
		want := []api.QuotaTier{
			{Priority: 0, Limits: api.Resources{CPU: 8.5, MemoryMib: 2048, StorageMib: 102400, NetworkMbps: 10240}},
			{Priority: 5, Limits: api.Resources{CPU: 24, MemoryMib: 102400, StorageMib: 102400, NetworkMbps: 10240}},
		}
		if q.Tenant != "Ops" || q.Cluster != "default" || !slices.Equal(q.Tiers, want) {
			t.Errorf("quota: %+v", q)
		}
		var l api.QuotaList
		in.get(t, nil, "/quotas?cluster=default", &l)
		if len(l.Items) != 1 || l.Items[0].Tenant != "Ops" {
			t.Errorf("quotas on default: %+v", l.Items)
		}
		in.get(t, nil, "/quotas", &l)
		if len(l.Items) != 2 || l.Items[0].Tenant != "Dev" || l.Items[1].Tenant != "Ops" {
			t.Errorf("all quotas: %+v", l.Items)
		}
		in.get(t, in.olga, "/tenants/Ops/quotas", &l)
		if len(l.Items) != 1 || l.Items[0].Cluster != "default" {
			t.Errorf("Ops quotas: %+v", l.Items)
		}

		// Usage pins a tier: it can be neither dropped nor lowered below it.
		var dev api.Tenant
		var devC api.Cluster
		in.get(t, nil, "/tenants/Dev", &dev)
		in.get(t, nil, "/clusters/dev-c", &devC)
		err := e.store.Write(context.Background(), func(tx store.Tx) error {
			_, err := tx.ReserveQuota(context.Background(), store.QuotaRequest{TenantID: dev.ID, ClusterID: devC.ID,
				Resources: store.Resources{CPU: 2, MemoryMiB: 4096}, OwnerKind: "test", OwnerID: "t1"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		in.runAll(t, []apiCall{
			{name: "drop used tier", method: "PUT", path: "/tenants/Dev/quotas/dev-c", body: `{"tiers":[{"priority":1}]}`, status: 409, field: "tiers"},
			{name: "below usage", method: "PUT", path: "/tenants/Dev/quotas/dev-c", body: `{"tiers":[{"cpu":1}]}`, status: 409, field: "tiers[0].cpu"},
			{name: "delete used quota", method: "DELETE", path: "/tenants/Dev/quotas/dev-c", status: 409},
		})
		in.get(t, in.dana, "/tenants/Dev/quotas/dev-c", &q)
		if used := q.Tiers[0].Used; used.CPU != 2 || used.MemoryMib != 4096 {
			t.Errorf("used: %+v", used)
		}

		in.runAll(t, []apiCall{
			{name: "delete", method: "DELETE", path: "/tenants/Ops/quotas/default", status: 204},
			{name: "delete again", method: "DELETE", path: "/tenants/Ops/quotas/default", status: 404},
			{name: "gone", caller: in.olga, method: "GET", path: "/tenants/Ops/quotas/default", status: 404},
		})
	})
}

func TestAuditAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		in := newInfra(t, e)
		in.runAll(t, []apiCall{
			{name: "ops cluster", caller: in.olga, method: "POST", path: "/clusters", body: `{"name":"ops-c","owner_tenant":"Ops"}`, status: 201},
			{name: "dev cluster", caller: in.dana, method: "POST", path: "/clusters", body: `{"name":"dev-c","owner_tenant":"Dev"}`, status: 201},
			{name: "platform cluster", method: "POST", path: "/clusters", body: `{"name":"plat"}`, status: 201},
			{name: "refused", caller: in.olga, method: "PATCH", path: "/clusters/plat", body: `{"description":"x"}`, status: 403},
			{name: "hidden tenant", caller: in.olga, method: "GET", path: "/audit?tenant=Dev", status: 404},
			{name: "unknown tenant", method: "GET", path: "/audit?tenant=Nope", status: 404},
			{name: "bad interval", method: "GET", path: "/audit?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z", status: 400, field: "until"},
		})

		objects := func(caller *client.Client, query string) []string {
			var l api.AuditRecordList
			in.get(t, caller, "/audit?"+query, &l)
			out := []string{}
			for _, r := range l.Items {
				out = append(out, r.Action+" "+r.ObjectName+" "+string(r.Result))
			}
			return out
		}
		for _, tc := range []struct {
			who    string
			caller *client.Client
			query  string
			want   []string
		}{
			{"admin", nil, "object_type=cluster", []string{
				"cluster.update plat failure", "cluster.create plat success", "cluster.create dev-c success",
				"cluster.create ops-c success", "cluster.create default success"}},
			{"admin", nil, "tenant=Ops&action=cluster.", []string{"cluster.create ops-c success"}},
			{"admin", nil, "result=failure&object_type=cluster", []string{"cluster.update plat failure"}},
			{"olga", in.olga, "object_type=cluster", []string{"cluster.create ops-c success"}},
			{"olga", in.olga, "tenant=Ops&object_type=cluster", []string{"cluster.create ops-c success"}},
			{"victor", in.victor, "", []string{}},
			{"victor", in.victor, "tenant=Ops", []string{}},
			{"olga", in.olga, "until=2000-01-01T00:00:00Z", []string{}},
		} {
			if got := objects(tc.caller, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("%s: audit?%s: %v, want %v", tc.who, tc.query, got, tc.want)
			}
		}
	})
}
