package server

import (
	"context"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// Permissions are `resource:verb` strings. API keys carry a subset of them.
const (
	PermTenantRead    = "tenant:read"
	PermTenantWrite   = "tenant:write"
	PermMembersRead   = "members:read"
	PermMembersWrite  = "members:write"
	PermQuotaRead     = "quota:read"
	PermClusterRead   = "cluster:read"
	PermClusterWrite  = "cluster:write"
	PermHostRead      = "host:read"
	PermHostWrite     = "host:write"
	PermAPIKeyWrite   = "apikey:write"
	PermAuditRead     = "audit:read"
	PermInstanceRead  = "instance:read"
	PermInstanceWrite = "instance:write"
)

var viewerPerms = []string{PermTenantRead, PermMembersRead, PermQuotaRead, PermClusterRead, PermHostRead, PermInstanceRead}

// rolePerms lists what each tenant role may do in its tenant.
var rolePerms = map[string][]string{
	store.RoleViewer: viewerPerms,
	store.RoleMember: append(slices.Clone(viewerPerms), PermAPIKeyWrite, PermInstanceWrite),
	store.RoleAdmin: append(slices.Clone(viewerPerms), PermAPIKeyWrite, PermInstanceWrite, PermTenantWrite,
		PermMembersWrite, PermAuditRead, PermClusterWrite, PermHostWrite),
}

// AllPermissions is every permission a role can grant, sorted.
func AllPermissions() []string {
	perms := slices.Clone(rolePerms[store.RoleAdmin])
	slices.Sort(perms)
	return perms
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID        string
	UserName      string
	PlatformAdmin bool
	// TokenID is the session token's ID; empty for API keys.
	TokenID string
	// AppKey, KeyTenantID and KeyPerms are set when the caller used an API key:
	// it acts only in that tenant and only with those permissions.
	AppKey      string
	KeyTenantID string
	KeyPerms    []string
	// Roles maps tenant IDs to the caller's effective role there.
	Roles map[string]string
	// HostID and HostName are set when the caller is a host's agent: it
	// may make the Agent calls for that host and nothing else.
	HostID   string
	HostName string
}

// isPlatformAdmin reports whether the caller may act platform-wide. API keys
// never may: they are scoped to one tenant.
func (p *Principal) isPlatformAdmin() bool { return p.PlatformAdmin && p.AppKey == "" }

// can reports whether the caller holds perm in tenantID.
func (p *Principal) can(tenantID, perm string) bool {
	if p.AppKey != "" {
		if tenantID != p.KeyTenantID || !slices.Contains(p.KeyPerms, perm) {
			return false
		}
	}
	if p.PlatformAdmin {
		return true
	}
	return slices.Contains(rolePerms[p.Roles[tenantID]], perm)
}

// canRead reports whether the tenant is visible to the caller at all.
// Invisible tenants, and everything in them, answer 404.
func (p *Principal) canRead(tenantID string) bool { return p.can(tenantID, PermTenantRead) }

// visibleTenants lists the tenant IDs the caller can read; nil with all=true
// for platform admins.
func (p *Principal) visibleTenants() (ids []string, all bool) {
	if p.isPlatformAdmin() {
		return nil, true
	}
	if p.AppKey != "" {
		if p.canRead(p.KeyTenantID) {
			return []string{p.KeyTenantID}, false
		}
		return []string{}, false
	}
	for id := range p.Roles {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, false
}

// grantablePerms is what the caller could put on an API key in tenantID.
func (p *Principal) grantablePerms(tenantID string) []string {
	var out []string
	for _, perm := range AllPermissions() {
		if p.can(tenantID, perm) {
			out = append(out, perm)
		}
	}
	return out
}

// principalFrom returns the request's authenticated caller.
func principalFrom(ctx context.Context) *Principal {
	if p := infoFrom(ctx).principal; p != nil {
		return p
	}
	return &Principal{}
}
