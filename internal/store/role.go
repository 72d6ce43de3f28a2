package store

import (
	"context"
	"time"
)

// Tenant roles, from least to most privileged.
const (
	RoleViewer = "viewer"
	RoleMember = "member"
	RoleAdmin  = "admin"
)

// RoleRank orders roles: viewer 1, member 2, admin 3, anything else 0.
func RoleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleMember:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Subject kinds of a role assignment or member.
const (
	SubjectUser  = "user"
	SubjectGroup = "group"
)

// RoleAssignment gives a user or a group a role in a tenant; a subject has
// at most one role per tenant.
type RoleAssignment struct {
	TenantID    string
	SubjectKind string // SubjectUser or SubjectGroup
	SubjectID   string
	Role        string
	CreatedAt   time.Time
}

// Member is one row of a tenant's member list: a user or group holding a
// role directly, or a user holding it through ViaGroup.
type Member struct {
	Kind     string // SubjectUser or SubjectGroup
	ID       string
	Name     string
	Role     string
	ViaGroup string // group name when the user's role comes from a group
}

// MemberFilter selects members for [RoleTx.ListMembers].
type MemberFilter struct {
	TenantID string
	Page     // sorted by name, then kind, then via group
}

// RoleTx reads and writes role assignments.
type RoleTx interface {
	// SetRole creates or replaces the subject's role in the tenant.
	SetRole(ctx context.Context, a RoleAssignment) error
	// SetRoles does SetRole for many assignments at once.
	SetRoles(ctx context.Context, as []RoleAssignment) error
	// RemoveRole removes the subject's role; ErrNotFound when it has none.
	RemoveRole(ctx context.Context, tenantID, subjectKind, subjectID string) error
	// ListMembers lists the direct user and group roles of a tenant and the
	// users holding a role through a group.
	ListMembers(ctx context.Context, f MemberFilter) (members []Member, next string, err error)
	// EffectiveRoles maps tenant ID to the user's highest role there,
	// direct or via groups. Platform admin is not a role.
	EffectiveRoles(ctx context.Context, userID string) (map[string]string, error)
}
