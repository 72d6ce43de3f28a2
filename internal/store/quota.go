package store

import (
	"context"
	"time"
)

// Reference defaults of a quota tier field omitted on create.
const (
	DefaultQuotaCPU         = 24
	DefaultQuotaMemoryMiB   = 102400
	DefaultQuotaStorageMiB  = 102400
	DefaultQuotaNetworkMbps = 10240
	MaxQuotaTiers           = 16
)

// Resources is an amount of quota-governed resources.
type Resources struct {
	CPU         float64 // cores
	MemoryMiB   int64
	StorageMiB  int64
	NetworkMbps int64
}

// QuotaTier is one priority level of a quota with its limits and usage.
type QuotaTier struct {
	Priority int // >= 0, unique within the quota; 0 is lowest
	Limits   Resources
	Used     Resources // read only: sum of the tier's allocations
}

// Quota caps what a tenant may place on a cluster, per priority tier.
type Quota struct {
	ID        string
	TenantID  string
	ClusterID string
	Tiers     []QuotaTier // sorted by priority
	CreatedAt time.Time
	UpdatedAt time.Time
	// Read only names of the tenant and cluster.
	TenantName  string
	ClusterName string
}

// QuotaFilter selects quotas for [QuotaTx.ListQuotas]; sorted by tenant
// name, then cluster name.
type QuotaFilter struct {
	TenantID  string
	ClusterID string
	Page
}

// QuotaRequest asks [QuotaTx.ReserveQuota] to admit Resources in one tier
// for an owner (e.g. OwnerKind "instance", OwnerID its ID).
type QuotaRequest struct {
	TenantID  string
	ClusterID string
	Priority  int
	Resources Resources
	OwnerKind string
	OwnerID   string
}

// QuotaAllocation is an admitted request.
type QuotaAllocation struct {
	ID        string
	QuotaID   string
	Priority  int
	Resources Resources
	OwnerKind string
	OwnerID   string
	CreatedAt time.Time
}

// QuotaTx reads and writes quotas and admits requests against them.
type QuotaTx interface {
	// PutQuota creates the (q.TenantID, q.ClusterID) quota or replaces its
	// tier set, keeping the usage of tiers that stay, and then reads q back.
	// Dropping a tier with usage, or lowering a limit below usage, is an
	// *InUseError naming the tier priority and field. created reports
	// whether the quota is new.
	PutQuota(ctx context.Context, q *Quota, now time.Time) (created bool, err error)
	GetQuota(ctx context.Context, tenantID, clusterID string) (Quota, error)
	ListQuotas(ctx context.Context, f QuotaFilter) (quotas []Quota, next string, err error)
	// DeleteQuota is an *InUseError while any tier has usage.
	DeleteQuota(ctx context.Context, tenantID, clusterID string) error
	// ReserveQuota adds r to its tier's usage if it fits, atomically (never
	// over-admits under concurrency), and records the allocation. Otherwise
	// it returns a *QuotaExceededError for the first resource that does not
	// fit, or a *NotFoundError when there is no such tier.
	ReserveQuota(ctx context.Context, r QuotaRequest) (QuotaAllocation, error)
	// ReleaseQuota returns every allocation of the owner to its tier and
	// deletes it. Releasing nothing is not an error.
	ReleaseQuota(ctx context.Context, ownerKind, ownerID string) error
	// ListQuotaAllocations returns the owner's allocations.
	ListQuotaAllocations(ctx context.Context, ownerKind, ownerID string) ([]QuotaAllocation, error)
}
