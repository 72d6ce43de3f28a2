package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// TestOwnTenantCannotReachOthers aims a user's own tenant and API keys at
// other people: a personal tenant cannot take members (which would reveal
// their profiles), groups get roles only from platform admins (which would
// reveal their members), and a key stays inside its permissions.
func TestOwnTenantCannotReachOthers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.admin.API
		call(a.CreateUserWithResponse(ctx, api.UserCreate{Name: "carol", Email: ptr("carol@private.example"), Password: ptr(userPassword)})).ok(t)
		call(a.CreateGroupWithResponse(ctx, api.GroupCreate{Name: "finance"})).ok(t)
		call(a.AddGroupMemberWithResponse(ctx, "finance", "carol")).ok(t)
		call(a.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "Beta"})).ok(t)
		call(a.CreateUserWithResponse(ctx, api.UserCreate{Name: "bob", Password: ptr(userPassword), Tenant: ptr("Beta"), Role: ptr(api.RoleAdmin)})).ok(t)
		bob := e.login("bob", userPassword)

		status := func(res interface{ StatusCode() int }, _ error) int { return res.StatusCode() }
		if got := status(bob.API.SetUserRoleWithResponse(ctx, "bob", "carol", api.RoleUpdate{Role: api.RoleViewer})); got != http.StatusConflict {
			t.Errorf("granting a role in a personal tenant: %d, want 409", got)
		}
		if got := status(bob.API.SetGroupRoleWithResponse(ctx, "Beta", "finance", api.RoleUpdate{Role: api.RoleViewer})); got != http.StatusForbidden {
			t.Errorf("tenant admin giving a group a role: %d, want 403", got)
		}
		// A group tenant's admin cannot pull in a user it cannot see either,
		// and cannot tell such a user from one that does not exist.
		removals := map[string]string{}
		for _, name := range []string{"carol", "nobody-here"} {
			if got := status(bob.API.SetUserRoleWithResponse(ctx, "Beta", name, api.RoleUpdate{Role: api.RoleViewer})); got != http.StatusNotFound {
				t.Errorf("Beta's admin gives %s a role: %d, want 404", name, got)
			}
			if got := status(bob.API.SetUserRoleWithResponse(ctx, "bob", name, api.RoleUpdate{Role: api.RoleViewer})); got != http.StatusConflict {
				t.Errorf("role for %s in a personal tenant: %d, want 409 before any lookup", name, got)
			}
			res, _ := bob.API.RemoveUserRoleWithResponse(ctx, "Beta", name)
			if res.StatusCode() != http.StatusNotFound {
				t.Errorf("removing %s's role: %d, want 404", name, res.StatusCode())
			}
			removals[name] = strings.ReplaceAll(string(res.Body), name, "NAME")
		}
		if removals["carol"] != removals["nobody-here"] {
			t.Errorf("removing a role tells users apart from missing names:\n%s\n%s", removals["carol"], removals["nobody-here"])
		}
		if got := status(bob.API.GetUserWithResponse(ctx, "carol")); got != http.StatusNotFound {
			t.Errorf("bob sees carol: %d", got)
		}
		// Personal tenants own no clusters: names are platform-wide.
		if got := status(bob.API.CreateClusterWithResponse(ctx, api.ClusterCreate{Name: "grabbed", OwnerTenant: ptr("bob")})); got != http.StatusBadRequest {
			t.Errorf("cluster owned by a personal tenant: %d, want 400", got)
		}
		members := call(bob.API.ListMembersWithResponse(ctx, "Beta", nil)).ok(t)
		if strings.Contains(string(members.Body), "carol") {
			t.Errorf("group members leaked: %s", members.Body)
		}

		// A read-only key: no key revocation, no sessions, no groups.
		wide := call(bob.API.CreateAPIKeyWithResponse(ctx, "Beta", api.APIKeyCreate{Permissions: []api.Permission{api.PermissionTenantWrite}})).ok(t)
		ro := call(bob.API.CreateAPIKeyWithResponse(ctx, "Beta", api.APIKeyCreate{Permissions: []api.Permission{api.PermissionTenantRead}})).ok(t)
		key, err := client.New(e.url, client.WithAPIKey(ro.JSON201.APIKey.AppKey, ro.JSON201.AppSecret))
		if err != nil {
			t.Fatal(err)
		}
		if got := status(key.API.RevokeAPIKeyWithResponse(ctx, "Beta", wide.JSON201.APIKey.AppKey)); got != http.StatusForbidden {
			t.Errorf("tenant:read key revoking another key: %d, want 403", got)
		}
		if got := status(key.API.ListSessionsWithResponse(ctx, nil)); got != http.StatusForbidden {
			t.Errorf("key listing its user's sessions: %d, want 403", got)
		}
		groups := call(key.API.ListGroupsWithResponse(ctx, nil)).ok(t)
		if len(groups.JSON200.Items) != 0 {
			t.Errorf("key sees groups: %s", groups.Body)
		}
		res := call(bob.API.GetAPIKeyWithResponse(ctx, "Beta", wide.JSON201.APIKey.AppKey)).ok(t)
		if res.JSON200.RevokedAt != nil {
			t.Error("the wide key was revoked")
		}
	})
}
