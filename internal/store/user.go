package store

import (
	"context"
	"time"
)

// User is a person who can log in. Every user has a personal tenant with the
// same name, of which it is the admin.
type User struct {
	ID            string
	Name          string // unique across users and tenants
	Email         string
	DisplayName   string
	Enabled       bool
	PlatformAdmin bool
	PasswordHash  string // argon2id PHC string; empty: no password login
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// PersonalTenant returns the name of the user's personal tenant.
func (u User) PersonalTenant() string { return u.Name }

// UserFilter selects users for [UserTx.ListUsers].
type UserFilter struct {
	TenantID   string // users holding a role in this tenant, directly or via a group
	Enabled    *bool
	NamePrefix string
	Page
}

// UserTx reads and writes users.
type UserTx interface {
	// CreateUser inserts u together with its personal tenant (kind personal,
	// same name) and its admin role there. ID and times are filled in when
	// empty. A name taken by a user or any tenant is a *ConflictError.
	CreateUser(ctx context.Context, u *User) error
	// CreateUsers creates many users as CreateUser does, all or none. When
	// any name is taken (or repeated) it writes nothing and returns a
	// *BatchConflictError listing every such name.
	CreateUsers(ctx context.Context, users []User) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByName(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context, f UserFilter) (users []User, next string, err error)
	// UpdateUser writes the mutable fields of u (email, display name,
	// enabled, platform admin, password hash) and sets UpdatedAt.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser deletes the user, its personal tenant, sessions, API keys,
	// memberships and roles. It is an *InUseError while the personal tenant
	// holds quota usage or owns clusters.
	DeleteUser(ctx context.Context, id string) error
}
