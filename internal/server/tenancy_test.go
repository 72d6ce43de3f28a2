package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// alpha is a tenant with one of everything, seen from outside.
type alpha struct {
	appKey     string
	sessionID  string
	instanceID string
}

// Names of tenant Alpha's objects: distinctive, so a leak in any list shows.
const (
	alphaTenant  = "TenantAlpha"
	alphaUser    = "alice"
	alphaGroup   = "AlphaGroup"
	alphaCluster = "alpha-cluster"
	alphaHost    = "alpha-host1"
	alphaInst    = "alpha-web"
	userPassword = "user-secret-1"
)

// setupAlpha gives tenant Alpha a member, a group, a cluster it owns with a
// host, a quota, an API key and a live session.
func setupAlpha(t *testing.T, e *env) (alpha, *client.Client) {
	ctx := context.Background()
	a := e.admin.API
	call(a.CreateTenantWithResponse(ctx, api.TenantCreate{Name: alphaTenant})).ok(t)
	call(a.CreateUserWithResponse(ctx, api.UserCreate{Name: alphaUser, Password: ptr(userPassword),
		Tenant: ptr(alphaTenant), Role: ptr(api.RoleAdmin)})).ok(t)
	call(a.CreateGroupWithResponse(ctx, api.GroupCreate{Name: alphaGroup})).ok(t)
	call(a.AddGroupMemberWithResponse(ctx, alphaGroup, alphaUser)).ok(t)
	call(a.CreateClusterWithResponse(ctx, api.ClusterCreate{Name: alphaCluster, OwnerTenant: ptr(alphaTenant)})).ok(t)
	call(a.CreateHostWithResponse(ctx, api.HostCreate{Name: alphaHost, Cluster: alphaCluster,
		Capacity: api.Capacity{CPU: 8, MemoryMib: 16384, DiskMib: 100000, NetworkMbps: 1000}})).ok(t)
	call(a.PutQuotaWithResponse(ctx, alphaTenant, "default", api.QuotaPut{Tiers: []api.QuotaTierSpec{{Priority: ptr(0)}}})).ok(t)
	alice := e.login(alphaUser, userPassword)
	key := call(alice.API.CreateAPIKeyWithResponse(ctx, alphaTenant, api.APIKeyCreate{
		Permissions: []api.Permission{api.PermissionTenantRead}})).ok(t)
	sessions := call(alice.API.ListSessionsWithResponse(ctx, nil)).ok(t)
	inst := call(alice.API.CreateInstanceWithResponse(ctx, alphaTenant, api.InstanceCreate{Name: alphaInst, Start: ptr(false),
		Spec: api.InstanceSpec{Driver: api.InstanceDriverProcess, Command: &[]string{"sleep", "60"}}})).ok(t)
	return alpha{appKey: key.JSON201.APIKey.AppKey, sessionID: sessions.JSON200.Items[0].ID, instanceID: inst.JSON201.ID}, alice
}

// outsider is a tenant admin elsewhere: the caller who must see nothing of Alpha.
func outsider(t *testing.T, e *env) (*client.Client, *client.Client) {
	ctx := context.Background()
	call(e.admin.API.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "TenantBeta"})).ok(t)
	call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "bob", Password: ptr(userPassword),
		Tenant: ptr("TenantBeta"), Role: ptr(api.RoleAdmin)})).ok(t)
	bob := e.login("bob", userPassword)
	key := call(bob.API.CreateAPIKeyWithResponse(ctx, "TenantBeta", api.APIKeyCreate{
		Permissions: []api.Permission{api.PermissionTenantRead, api.PermissionMembersWrite, api.PermissionClusterWrite,
			api.PermissionHostWrite, api.PermissionAuditRead, api.PermissionApikeyWrite, api.PermissionTenantWrite,
			api.PermissionInstanceRead, api.PermissionInstanceWrite}})).ok(t)
	bobKey, err := client.New(e.url, client.WithAPIKey(key.JSON201.APIKey.AppKey, key.JSON201.AppSecret))
	if err != nil {
		t.Fatal(err)
	}
	return bob, bobKey
}

// probe is one request of the walk and what answer proves isolation.
type probe struct {
	method, path, body string
	// want is the status that proves Alpha stays hidden: 404 for Alpha's
	// objects, 200 for lists (which then must not name Alpha's objects),
	// 403 for platform-admin-only operations that name no tenant object.
	want int
}

// keyWants replaces probe.want for the outsider's API key: sessions belong
// to a person, so keys are refused there outright.
var keyWants = map[string]int{"ListSessions": http.StatusForbidden, "RevokeSession": http.StatusForbidden}

// walk has one or more probes per operation of the API document; the test
// fails when an operation is missing, so new endpoints join the walk.
func walk(a alpha) map[string][]probe {
	nf := http.StatusNotFound
	ok := http.StatusOK
	inst := "/api/v1/tenants/" + alphaTenant + "/instances"
	return map[string][]probe{
		"Login":          {{"POST", "/api/v1/auth/login", `{"username":"alice","password":"wrong-password"}`, http.StatusUnauthorized}},
		"Logout":         {},
		"WhoAmI":         {{"GET", "/api/v1/auth/whoami", "", ok}},
		"ListSessions":   {{"GET", "/api/v1/auth/sessions", "", ok}},
		"RevokeSession":  {{"DELETE", "/api/v1/auth/sessions/" + a.sessionID, "", nf}},
		"ChangePassword": {},
		"ListUsers": {
			{"GET", "/api/v1/users", "", ok},
			{"GET", "/api/v1/users?tenant=" + alphaTenant, "", nf},
		},
		"CreateUser":        {{"POST", "/api/v1/users", `{"name":"mallory","tenant":"TenantAlpha","role":"member"}`, http.StatusForbidden}},
		"BatchCreateUsers":  {{"POST", "/api/v1/users:batch", `{"prefix":"m","range":"1-2","password":"whatever-1","tenant":"TenantAlpha","role":"member"}`, http.StatusForbidden}},
		"GetUser":           {{"GET", "/api/v1/users/alice", "", nf}},
		"UpdateUser":        {{"PATCH", "/api/v1/users/alice", `{"display_name":"x"}`, nf}},
		"DeleteUser":        {{"DELETE", "/api/v1/users/alice", "", nf}},
		"ListGroups":        {{"GET", "/api/v1/groups", "", ok}},
		"CreateGroup":       {{"POST", "/api/v1/groups", `{"name":"Mallory"}`, http.StatusForbidden}},
		"GetGroup":          {{"GET", "/api/v1/groups/" + alphaGroup, "", nf}},
		"UpdateGroup":       {{"PATCH", "/api/v1/groups/" + alphaGroup, `{"description":"x"}`, nf}},
		"DeleteGroup":       {{"DELETE", "/api/v1/groups/" + alphaGroup, "", nf}},
		"AddGroupMember":    {{"PUT", "/api/v1/groups/" + alphaGroup + "/members/bob", "", nf}},
		"RemoveGroupMember": {{"DELETE", "/api/v1/groups/" + alphaGroup + "/members/alice", "", nf}},
		"ListTenants":       {{"GET", "/api/v1/tenants", "", ok}},
		"CreateTenant":      {{"POST", "/api/v1/tenants", `{"name":"Mallory"}`, http.StatusForbidden}},
		"GetTenant":         {{"GET", "/api/v1/tenants/" + alphaTenant, "", nf}},
		"UpdateTenant":      {{"PATCH", "/api/v1/tenants/" + alphaTenant, `{"description":"x"}`, nf}},
		"DeleteTenant":      {{"DELETE", "/api/v1/tenants/" + alphaTenant, "", nf}},
		"ListMembers":       {{"GET", "/api/v1/tenants/" + alphaTenant + "/members", "", nf}},
		"SetUserRole":       {{"PUT", "/api/v1/tenants/" + alphaTenant + "/members/users/bob", `{"role":"admin"}`, nf}},
		"RemoveUserRole":    {{"DELETE", "/api/v1/tenants/" + alphaTenant + "/members/users/alice", "", nf}},
		"SetGroupRole":      {{"PUT", "/api/v1/tenants/" + alphaTenant + "/members/groups/" + alphaGroup, `{"role":"admin"}`, nf}},
		"RemoveGroupRole":   {{"DELETE", "/api/v1/tenants/" + alphaTenant + "/members/groups/" + alphaGroup, "", nf}},
		"ListAPIKeys":       {{"GET", "/api/v1/tenants/" + alphaTenant + "/apikeys", "", nf}},
		"CreateAPIKey":      {{"POST", "/api/v1/tenants/" + alphaTenant + "/apikeys", `{"permissions":["tenant:read"]}`, nf}},
		"GetAPIKey": {
			{"GET", "/api/v1/tenants/" + alphaTenant + "/apikeys/" + a.appKey, "", nf},
			{"GET", "/api/v1/tenants/TenantBeta/apikeys/" + a.appKey, "", nf},
		},
		"RevokeAPIKey": {
			{"DELETE", "/api/v1/tenants/" + alphaTenant + "/apikeys/" + a.appKey, "", nf},
			{"DELETE", "/api/v1/tenants/TenantBeta/apikeys/" + a.appKey, "", nf},
		},
		"ListTenantQuotas": {{"GET", "/api/v1/tenants/" + alphaTenant + "/quotas", "", nf}},
		"GetQuota":         {{"GET", "/api/v1/tenants/" + alphaTenant + "/quotas/default", "", nf}},
		"PutQuota":         {{"PUT", "/api/v1/tenants/" + alphaTenant + "/quotas/default", `{"tiers":[{"priority":0}]}`, nf}},
		"DeleteQuota":      {{"DELETE", "/api/v1/tenants/" + alphaTenant + "/quotas/default", "", nf}},
		"ListQuotas":       {{"GET", "/api/v1/quotas", "", http.StatusForbidden}},
		"ListClusters":     {{"GET", "/api/v1/clusters", "", ok}},
		"CreateCluster":    {{"POST", "/api/v1/clusters", `{"name":"MalloryCluster","owner_tenant":"TenantAlpha"}`, nf}},
		"GetCluster":       {{"GET", "/api/v1/clusters/" + alphaCluster, "", nf}},
		"UpdateCluster":    {{"PATCH", "/api/v1/clusters/" + alphaCluster, `{"description":"x"}`, nf}},
		"DeleteCluster":    {{"DELETE", "/api/v1/clusters/" + alphaCluster, "", nf}},
		"ListHosts": {
			{"GET", "/api/v1/hosts", "", ok},
			{"GET", "/api/v1/hosts?cluster=" + alphaCluster, "", nf},
		},
		"CreateHost":       {{"POST", "/api/v1/hosts", `{"name":"mallory-host","cluster":"alpha-cluster","capacity":{"cpu":1,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`, nf}},
		"GetHost":          {{"GET", "/api/v1/hosts/" + alphaHost, "", nf}},
		"UpdateHost":       {{"PATCH", "/api/v1/hosts/" + alphaHost, `{"state":"cordoned"}`, nf}},
		"UpdateHostLabels": {{"POST", "/api/v1/hosts/" + alphaHost + "/labels", `{"set":{"owned":"mallory"}}`, nf}},
		"DeleteHost":       {{"DELETE", "/api/v1/hosts/" + alphaHost, "", nf}},
		"ListAudit": {
			{"GET", "/api/v1/audit", "", ok},
			{"GET", "/api/v1/audit?tenant=" + alphaTenant, "", nf},
		},
		"CreateJoinToken": {{"POST", "/api/v1/clusters/" + alphaCluster + "/join-tokens", `{}`, nf}},
		"GetHostMetrics":  {{"GET", "/api/v1/hosts/" + alphaHost + "/metrics", "", nf}},
		"ListAllInstances": {
			{"GET", "/api/v1/instances", "", ok},
			{"GET", "/api/v1/instances?cluster=" + alphaCluster, "", nf},
			{"GET", "/api/v1/instances?host=" + alphaHost, "", nf},
		},
		"ListInstances":  {{"GET", inst, "", nf}},
		"CreateInstance": {{"POST", inst, `{"name":"mallory","spec":{"driver":"process","command":["true"]}}`, nf}},
		"GetInstance": {
			{"GET", inst + "/" + alphaInst, "", nf},
			{"GET", inst + "/" + a.instanceID, "", nf},
			{"GET", "/api/v1/tenants/TenantBeta/instances/" + a.instanceID, "", nf},
		},
		"DeleteInstance": {
			{"DELETE", inst + "/" + alphaInst, "", nf},
			{"DELETE", "/api/v1/tenants/TenantBeta/instances/" + a.instanceID, "", nf},
		},
		"InstanceAction": {
			{"POST", inst + "/" + alphaInst + "/actions", `{"action":"start"}`, nf},
			{"POST", "/api/v1/tenants/TenantBeta/instances/" + a.instanceID + "/actions", `{"action":"start"}`, nf},
		},
		"ListInstanceEvents": {{"GET", inst + "/" + alphaInst + "/events", "", nf}},
		"GetInstanceMetrics": {{"GET", inst + "/" + alphaInst + "/metrics", "", nf}},
		"ExplainInstance":    {{"GET", inst + "/" + alphaInst + "/explain", "", nf}},
		"StreamInstanceLogs": {{"GET", inst + "/" + alphaInst + "/logs", "", nf}},
		"ExecInstance": {
			{"GET", inst + "/" + alphaInst + "/exec?command=sh", "", nf},
			{"GET", "/api/v1/tenants/TenantBeta/instances/" + a.instanceID + "/exec?command=sh", "", nf},
		},
		"AgentJoin":        {{"POST", "/api/v1/agent/join", `{"token":"njt_x","host_name":"mallory-host","capacity":{"cpu":1,"memory_mib":1,"disk_mib":1,"network_mbps":1}}`, http.StatusUnauthorized}},
		"AgentHeartbeat":   {{"POST", "/api/v1/agent/heartbeat", `{}`, http.StatusForbidden}},
		"AgentAssignments": {{"GET", "/api/v1/agent/assignments", "", http.StatusForbidden}},
	}
}

// alphaMarkers must appear in no answer to an outsider.
func alphaMarkers(a alpha) []string {
	return []string{alphaTenant, `"alice"`, alphaGroup, alphaCluster, alphaHost, a.appKey, a.sessionID, alphaInst, a.instanceID}
}

func TestCrossTenantWalk(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		a, alice := setupAlpha(t, e)
		bob, bobKey := outsider(t, e)
		probes := walk(a)

		spec, err := api.Spec()
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range spec.Paths.Map() {
			for _, op := range item.Operations() {
				if _, ok := probes[op.OperationID]; !ok {
					t.Errorf("operation %s is not in the cross-tenant walk: add a probe", op.OperationID)
				}
			}
		}

		for name, caller := range map[string]*client.Client{"token": bob, "apikey": bobKey} {
			for op, ps := range probes {
				for _, p := range ps {
					want := p.want
					if w, ok := keyWants[op]; ok && name == "apikey" {
						want = w
					}
					res := e.do(t, caller, p.method, p.path, "application/json", strings.NewReader(p.body))
					raw, _ := io.ReadAll(res.Body)
					if res.StatusCode != want {
						// API keys of another tenant may get 403 on
						// platform-only collections; never 2xx on Alpha.
						t.Errorf("%s %s %s %s: status %d, want %d: %s", name, op, p.method, p.path, res.StatusCode, want, raw)
						continue
					}
					for _, m := range alphaMarkers(a) {
						// A 404 may repeat what the caller asked for.
						asked := strings.Contains(p.path, m) || strings.Contains(p.body, strings.Trim(m, `"`))
						if !asked && strings.Contains(string(raw), m) {
							t.Errorf("%s %s %s %s: answer names Alpha's %s: %s", name, op, p.method, p.path, m, raw)
						}
					}
				}
			}
		}

		// Alpha is untouched: alice still sees all of it.
		ctx := context.Background()
		call(alice.API.GetTenantWithResponse(ctx, alphaTenant)).ok(t)
		host := call(alice.API.GetHostWithResponse(ctx, alphaHost)).ok(t)
		if host.JSON200.State != "ready" || len(host.JSON200.Labels) != 0 {
			t.Errorf("host changed by the walk: %+v", host.JSON200)
		}
		members := call(alice.API.ListMembersWithResponse(ctx, alphaTenant, nil)).ok(t)
		if raw, _ := json.Marshal(members.JSON200); strings.Contains(string(raw), "bob") {
			t.Errorf("bob joined Alpha: %s", raw)
		}
		key := call(alice.API.GetAPIKeyWithResponse(ctx, alphaTenant, a.appKey)).ok(t)
		if key.JSON200.RevokedAt != nil {
			t.Error("Alpha's API key was revoked by an outsider")
		}
		call(alice.API.WhoAmIWithResponse(ctx)).ok(t)
	})
}
