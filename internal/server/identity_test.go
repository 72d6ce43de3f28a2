package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/testpg"
)

func TestBatchCreateAllOrNone(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.admin.API
		call(a.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "RD_Dept"})).ok(t)
		call(a.CreateUserWithResponse(ctx, api.UserCreate{Name: "rduser010"})).ok(t)
		call(a.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "rduser020"})).ok(t)

		res, err := a.BatchCreateUsersWithResponse(ctx, api.UserBatchCreate{Prefix: "rduser", Range: "003-050",
			Password: "Initial-Pass-1", Tenant: ptr("RD_Dept"), Role: ptr(api.RoleMember)})
		if err != nil {
			t.Fatal(err)
		}
		cerr := client.Err(res.HTTPResponse, res.Body)
		var ce *client.Error
		if !client.IsConflict(cerr) || !errors.As(cerr, &ce) {
			t.Fatalf("want a conflict, got %v", cerr)
		}
		if !slices.Equal(ce.Conflicts, []string{"rduser010", "rduser020"}) {
			t.Fatalf("conflicts %v, want both taken names", ce.Conflicts)
		}
		users := call(a.ListUsersWithResponse(ctx, &api.ListUsersParams{NamePrefix: ptr("rduser")})).ok(t)
		if len(users.JSON200.Items) != 1 {
			t.Fatalf("a refused batch wrote users: %d", len(users.JSON200.Items))
		}

		ok := call(a.BatchCreateUsersWithResponse(ctx, api.UserBatchCreate{Prefix: "rduser", Range: "021-050",
			Password: "Initial-Pass-1", Tenant: ptr("RD_Dept"), Role: ptr(api.RoleMember), EmailDomain: ptr("example.com")})).ok(t)
		if ok.JSON201.Count != 30 || ok.JSON201.Items[0].Name != "rduser021" || ok.JSON201.Items[0].Email != "rduser021@example.com" {
			t.Fatalf("batch result: count %d first %+v", ok.JSON201.Count, ok.JSON201.Items[0])
		}
		tenant := call(a.GetTenantWithResponse(ctx, "RD_Dept")).ok(t)
		if tenant.JSON200.UserCount != 30 {
			t.Fatalf("user_count %d, want 30", tenant.JSON200.UserCount)
		}
		// Every new user can log in and sees its personal and group tenants.
		u := e.login("rduser050", "Initial-Pass-1")
		who := call(u.API.WhoAmIWithResponse(ctx)).ok(t)
		if len(who.JSON200.Tenants) != 2 {
			t.Fatalf("tenants %+v, want personal and RD_Dept", who.JSON200.Tenants)
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "carol", Password: ptr(userPassword)})).ok(t)
	anon := e.anon()
	for i := range 5 {
		res, err := anon.API.LoginWithResponse(ctx, api.LoginRequest{Username: "carol", Password: "wrong-password"})
		if err != nil || res.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %v %d", i, err, res.StatusCode())
		}
	}
	// Locked now: even the right password is refused, with Retry-After.
	res, err := anon.API.LoginWithResponse(ctx, api.LoginRequest{Username: "carol", Password: userPassword})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusTooManyRequests || res.HTTPResponse.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: want 429 with Retry-After", res.StatusCode(), res.HTTPResponse.Header.Get("Retry-After"))
	}
	// Other users are not affected, and failures are audited.
	e.login("admin", adminPassword)
	audit := call(e.admin.API.ListAuditWithResponse(ctx, &api.ListAuditParams{Action: ptr("auth.login"), Result: ptr(api.AuditResultFailure)})).ok(t)
	if len(audit.JSON200.Items) != 6 {
		t.Fatalf("failed logins audited: %d, want 6", len(audit.JSON200.Items))
	}
}

// TestLoginThrottleParallel sends guesses at once: no more passwords are
// checked than the throttle allows, the rest are refused with 429.
func TestLoginThrottleParallel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "dave", Password: ptr(userPassword)})).ok(t)
		anon := e.anon()
		codes := make(chan int, 30)
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				res, err := anon.API.LoginWithResponse(ctx, api.LoginRequest{Username: "dave", Password: "wrong-password"})
				if err != nil {
					t.Error(err)
					return
				}
				codes <- res.StatusCode()
			})
		}
		wg.Wait()
		close(codes)
		counts := map[int]int{}
		for c := range codes {
			counts[c]++
		}
		if counts[http.StatusUnauthorized] != 5 || counts[http.StatusTooManyRequests] != 25 {
			t.Fatalf("answers %v: want 5 checked (401) and 25 refused (429)", counts)
		}
	})
}

func TestSessionsAndLogout(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	second := e.login("admin", adminPassword)
	sessions := call(second.API.ListSessionsWithResponse(ctx, nil)).ok(t)
	if len(sessions.JSON200.Items) != 2 {
		t.Fatalf("sessions %d, want 2", len(sessions.JSON200.Items))
	}
	call(second.API.LogoutWithResponse(ctx)).ok(t)
	res, _ := second.API.WhoAmIWithResponse(ctx)
	if res.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("after logout: status %d, want 401", res.StatusCode())
	}
	call(e.admin.API.WhoAmIWithResponse(ctx)).ok(t)
}

func TestAPIKeyScope(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.admin.API
		call(a.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "Ops"})).ok(t)
		call(a.CreateUserWithResponse(ctx, api.UserCreate{Name: "viv", Password: ptr(userPassword), Tenant: ptr("Ops"), Role: ptr(api.RoleViewer)})).ok(t)
		viv := e.login("viv", userPassword)

		// A viewer cannot mint keys; a member can, but only with what it holds.
		res, _ := viv.API.CreateAPIKeyWithResponse(ctx, "Ops", api.APIKeyCreate{Permissions: []api.Permission{api.PermissionTenantRead}})
		if res.StatusCode() != http.StatusForbidden {
			t.Fatalf("viewer minted a key: %d", res.StatusCode())
		}
		call(a.SetUserRoleWithResponse(ctx, "Ops", "viv", api.RoleUpdate{Role: api.RoleMember})).ok(t)
		res, _ = viv.API.CreateAPIKeyWithResponse(ctx, "Ops", api.APIKeyCreate{Permissions: []api.Permission{api.PermissionTenantRead, api.PermissionMembersWrite}})
		if res.StatusCode() != http.StatusBadRequest || !strings.Contains(string(res.Body), "permissions[1]") {
			t.Fatalf("member granted members:write: %d %s", res.StatusCode(), res.Body)
		}
		created := call(viv.API.CreateAPIKeyWithResponse(ctx, "Ops", api.APIKeyCreate{Permissions: []api.Permission{api.PermissionTenantRead}})).ok(t)
		key, err := client.New(e.url, client.WithAPIKey(created.JSON201.APIKey.AppKey, created.JSON201.AppSecret))
		if err != nil {
			t.Fatal(err)
		}
		call(key.API.GetTenantWithResponse(ctx, "Ops")).ok(t)
		// Scoped to Ops: the user's personal tenant is invisible to the key.
		if r, _ := key.API.GetTenantWithResponse(ctx, "viv"); r.StatusCode() != http.StatusNotFound {
			t.Fatalf("key reached another tenant: %d", r.StatusCode())
		}
		// Without members:read the key cannot list members.
		if r, _ := key.API.ListMembersWithResponse(ctx, "Ops", nil); r.StatusCode() != http.StatusForbidden {
			t.Fatalf("key without members:read listed members: %d", r.StatusCode())
		}
		// The secret is never shown again, and revocation is immediate.
		got := call(viv.API.GetAPIKeyWithResponse(ctx, "Ops", created.JSON201.APIKey.AppKey)).ok(t)
		if strings.Contains(string(got.Body), created.JSON201.AppSecret) {
			t.Fatal("secret shown again")
		}
		call(viv.API.RevokeAPIKeyWithResponse(ctx, "Ops", created.JSON201.APIKey.AppKey)).ok(t)
		if r, _ := key.API.GetTenantWithResponse(ctx, "Ops"); r.StatusCode() != http.StatusUnauthorized {
			t.Fatalf("revoked key still works: %d", r.StatusCode())
		}
	})
}

// TestTwoServersOneDatabase runs two servers on one PostgreSQL database:
// what one writes, the other serves, and a token from one works on both.
func TestTwoServersOneDatabase(t *testing.T) {
	dsn := testpg.Start(t)
	one := newEnvDSN(t, dsn)
	two := newEnvDSN(t, dsn)
	ctx := context.Background()
	call(one.admin.API.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "Shared"})).ok(t)
	call(two.admin.API.GetTenantWithResponse(ctx, "Shared")).ok(t)
	res, _ := two.admin.API.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "Shared"})
	if res.StatusCode() != http.StatusConflict {
		t.Fatalf("second server created a duplicate: %d", res.StatusCode())
	}
	// The token issued by server one authenticates on server two.
	req, _ := http.NewRequest("GET", two.url+"/api/v1/auth/whoami", nil)
	if err := one.admin.Authorize(ctx, req); err != nil {
		t.Fatal(err)
	}
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if got.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"admin"`) {
		t.Fatalf("token of server one on server two: %d %s", got.StatusCode, raw)
	}
	// Login throttling is shared: failures on one lock the name on both.
	call(one.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "dave", Password: ptr(userPassword)})).ok(t)
	for i := range 5 {
		e := []*env{one, two}[i%2]
		_, _ = e.anon().API.LoginWithResponse(ctx, api.LoginRequest{Username: "dave", Password: "wrong-password"})
	}
	for _, e := range []*env{one, two} {
		r, _ := e.anon().API.LoginWithResponse(ctx, api.LoginRequest{Username: "dave", Password: userPassword})
		if r.StatusCode() != http.StatusTooManyRequests {
			t.Fatalf("%s: status %d, want 429 after failures spread over both servers", e.url, r.StatusCode())
		}
	}
}

// TestAccessChangesTakeEffectAtOnce removes access on one server and checks
// that the other server, which has the caller's credentials cached, refuses
// the very next request.
func TestAccessChangesTakeEffectAtOnce(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
			if engine == store.DialectPostgres {
				dsn = testpg.Start(t)
			}
			one, two := newEnvDSN(t, dsn), newEnvDSN(t, dsn)
			ctx := context.Background()
			call(one.admin.API.CreateTenantWithResponse(ctx, api.TenantCreate{Name: "Lab"})).ok(t)
			call(one.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "erin", Password: ptr(userPassword),
				Tenant: ptr("Lab"), Role: ptr(api.RoleViewer)})).ok(t)
			erin := two.login("erin", userPassword)
			call(erin.API.GetTenantWithResponse(ctx, "Lab")).ok(t) // now cached on server two

			call(one.admin.API.RemoveUserRoleWithResponse(ctx, "Lab", "erin")).ok(t)
			if r, _ := erin.API.GetTenantWithResponse(ctx, "Lab"); r.StatusCode() != http.StatusNotFound {
				t.Fatalf("role removed on server one, server two still answers %d", r.StatusCode())
			}
			call(one.admin.API.SetUserRoleWithResponse(ctx, "Lab", "erin", api.RoleUpdate{Role: api.RoleViewer})).ok(t)
			call(erin.API.GetTenantWithResponse(ctx, "Lab")).ok(t)

			call(one.admin.API.UpdateUserWithResponse(ctx, "erin", api.UserUpdate{Enabled: ptr(false)})).ok(t)
			if r, _ := erin.API.WhoAmIWithResponse(ctx); r.StatusCode() != http.StatusUnauthorized {
				t.Fatalf("user disabled on server one, server two still answers %d", r.StatusCode())
			}
		})
	}
}

// TestChangePassword checks the current password with the login throttle,
// ends the user's other sessions, and keeps the calling one.
func TestChangePassword(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "fay", Password: ptr(userPassword)})).ok(t)
	fay, other := e.login("fay", userPassword), e.login("fay", userPassword)

	call(fay.API.ChangePasswordWithResponse(ctx, api.PasswordChange{CurrentPassword: userPassword, NewPassword: "brand-new-pass-1"})).ok(t)
	if r, _ := other.API.WhoAmIWithResponse(ctx); r.StatusCode() != http.StatusUnauthorized {
		t.Errorf("other session after a password change: %d, want 401", r.StatusCode())
	}
	call(fay.API.WhoAmIWithResponse(ctx)).ok(t)
	e.login("fay", "brand-new-pass-1")

	for i := range 5 {
		r, _ := fay.API.ChangePasswordWithResponse(ctx, api.PasswordChange{CurrentPassword: "wrong-guess-1", NewPassword: "another-pass-1"})
		if r.StatusCode() != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"current_password"`) {
			t.Fatalf("wrong guess %d: %d %s", i, r.StatusCode(), r.Body)
		}
	}
	r, _ := fay.API.ChangePasswordWithResponse(ctx, api.PasswordChange{CurrentPassword: "brand-new-pass-1", NewPassword: "another-pass-1"})
	if r.StatusCode() != http.StatusTooManyRequests {
		t.Fatalf("after 5 wrong guesses: %d, want 429", r.StatusCode())
	}
}

// TestDisabledUserLogin gives a disabled user's right password the answer
// of a wrong one.
func TestDisabledUserLogin(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	ctx := context.Background()
	call(e.admin.API.CreateUserWithResponse(ctx, api.UserCreate{Name: "gus", Password: ptr(userPassword), Enabled: ptr(false)})).ok(t)
	anon := e.anon()
	right, _ := anon.API.LoginWithResponse(ctx, api.LoginRequest{Username: "gus", Password: userPassword})
	wrong, _ := anon.API.LoginWithResponse(ctx, api.LoginRequest{Username: "gus", Password: "wrong-password"})
	if right.StatusCode() != http.StatusUnauthorized || string(right.Body) != string(wrong.Body) {
		t.Fatalf("disabled user, right password: %d %s; wrong password: %s", right.StatusCode(), right.Body, wrong.Body)
	}
}
