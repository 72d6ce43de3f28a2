package server

import (
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

func userToAPI(u store.User) api.User {
	return api.User{
		ID:             u.ID,
		Name:           u.Name,
		Email:          u.Email,
		DisplayName:    u.DisplayName,
		Enabled:        u.Enabled,
		PlatformAdmin:  u.PlatformAdmin,
		PersonalTenant: u.PersonalTenant(),
		CreatedAt:      u.CreatedAt,
		UpdatedAt:      u.UpdatedAt,
	}
}

func usersToAPI(us []store.User) []api.User {
	out := make([]api.User, len(us))
	for i, u := range us {
		out[i] = userToAPI(u)
	}
	return out
}

func tenantToAPI(t store.Tenant) api.Tenant {
	out := api.Tenant{
		ID:          t.ID,
		Name:        t.Name,
		Kind:        api.TenantKind(t.Kind),
		Description: t.Description,
		AdminEmail:  t.AdminEmail,
		UserCount:   t.UserCount,
		CreatedAt:   t.CreatedAt,
		UpdatedAt:   t.UpdatedAt,
	}
	if t.Kind == store.TenantPersonal {
		out.Owner = ptr(t.Name)
	}
	return out
}

func groupToAPI(g store.Group, members []store.User) api.Group {
	out := api.Group{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt}
	if members != nil {
		names := make([]string, len(members))
		for i, m := range members {
			names[i] = m.Name
		}
		out.Members = &names
	}
	return out
}

func memberToAPI(m store.Member) api.Member {
	out := api.Member{Kind: api.MemberKind(m.Kind), Name: m.Name, Role: api.Role(m.Role)}
	if m.ViaGroup != "" {
		out.ViaGroup = ptr(m.ViaGroup)
	}
	return out
}

func apiKeyToAPI(k store.APIKey, creator, tenant string) api.APIKey {
	perms := make([]api.Permission, len(k.Permissions))
	for i, p := range k.Permissions {
		perms[i] = api.Permission(p)
	}
	return api.APIKey{
		AppKey:      k.AppKey,
		Tenant:      tenant,
		CreatedBy:   creator,
		Description: k.Description,
		Permissions: perms,
		CreatedAt:   k.CreatedAt,
		ExpiresAt:   timePtr(k.ExpiresAt),
		RevokedAt:   timePtr(k.RevokedAt),
	}
}

// timePtr maps the zero time to nil.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
