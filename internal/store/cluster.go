package store

import (
	"context"
	"time"
)

// Placement strategies of a cluster.
const (
	StrategySpread  = "spread"
	StrategyBinpack = "binpack"
)

// DefaultHeartbeatTimeout is a new cluster's host heartbeat timeout.
const DefaultHeartbeatTimeout = 15 * time.Second

// DefaultMaxStarting is a new cluster's boot-storm limit: instances a host
// starts at once.
const DefaultMaxStarting = 4

// Cluster is a set of hosts, owned by the platform or by one tenant.
type Cluster struct {
	ID               string
	Name             string
	Description      string
	OwnerTenantID    string // empty: platform cluster
	CPUOvercommit    float64
	MemoryOvercommit float64
	Strategy         string
	Registry         string
	// HeartbeatTimeout is how long a host may stay silent before it is down
	// (DefaultHeartbeatTimeout when zero at creation).
	HeartbeatTimeout time.Duration
	// MaxStarting is how many instances a host starts at once
	// (DefaultMaxStarting when zero at creation).
	MaxStarting int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Read only totals over the cluster's hosts: filled by ListClusters and
	// LoadClusterTotals, zero from the single-cluster getters.
	HostCount int
	Capacity  HostResources
	Usage     HostResources
}

// ClusterFilter selects clusters for [ClusterTx.ListClusters].
type ClusterFilter struct {
	// Scoped keeps only platform clusters and clusters owned by TenantIDs.
	Scoped     bool
	TenantIDs  []string
	NamePrefix string
	Page
}

// ClusterTx reads and writes clusters.
type ClusterTx interface {
	// CreateCluster inserts c; a taken name is a *ConflictError.
	CreateCluster(ctx context.Context, c *Cluster) error
	// GetCluster and GetClusterByName return the cluster without host
	// totals, at a cost that does not grow with its hosts.
	GetCluster(ctx context.Context, id string) (Cluster, error)
	GetClusterByName(ctx context.Context, name string) (Cluster, error)
	// LoadClusterTotals fills c's HostCount, Capacity and Usage.
	LoadClusterTotals(ctx context.Context, c *Cluster) error
	ListClusters(ctx context.Context, f ClusterFilter) (clusters []Cluster, next string, err error)
	// UpdateCluster writes description, overcommits, strategy, registry and
	// heartbeat timeout and sets UpdatedAt.
	UpdateCluster(ctx context.Context, c *Cluster) error
	// DeleteCluster is an *InUseError while the cluster has hosts or quotas.
	DeleteCluster(ctx context.Context, id string) error
}
