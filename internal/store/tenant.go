package store

import (
	"context"
	"time"
)

// Tenant kinds.
const (
	TenantPersonal = "personal"
	TenantGroup    = "group"
)

// Tenant owns quotas, clusters and API keys; users and groups hold roles in it.
type Tenant struct {
	ID          string
	Name        string
	Kind        string // TenantPersonal or TenantGroup
	Description string
	AdminEmail  string
	OwnerUserID string // personal tenants only
	CreatedAt   time.Time
	UpdatedAt   time.Time
	UserCount   int // read only: distinct users with a role, directly or via a group
}

// TenantFilter selects tenants for [TenantTx.ListTenants].
type TenantFilter struct {
	Kind       string
	NamePrefix string
	// MemberUserID keeps only tenants where this user holds a role,
	// directly or through a group.
	MemberUserID string
	Page
}

// TenantTx reads and writes tenants.
type TenantTx interface {
	// CreateTenant inserts t; a name taken by any tenant (every user has a
	// personal tenant of its name) is a *ConflictError.
	CreateTenant(ctx context.Context, t *Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	GetTenantByName(ctx context.Context, name string) (Tenant, error)
	ListTenants(ctx context.Context, f TenantFilter) (tenants []Tenant, next string, err error)
	// UpdateTenant writes description and admin email and sets UpdatedAt.
	UpdateTenant(ctx context.Context, t *Tenant) error
	// DeleteTenant deletes the tenant with its roles, API keys and quotas.
	// It is an *InUseError while a quota tier has usage or the tenant owns
	// clusters.
	DeleteTenant(ctx context.Context, id string) error
}
