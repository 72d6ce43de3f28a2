package store

import (
	"context"
	"time"
)

// Desired states of an instance.
const (
	DesiredRunning = "running"
	DesiredStopped = "stopped"
)

// Instance statuses; see the InstanceStatus schema of the API.
const (
	StatusPending    = "pending"
	StatusScheduled  = "scheduled"
	StatusStarting   = "starting"
	StatusRunning    = "running"
	StatusUnhealthy  = "unhealthy"
	StatusRestarting = "restarting"
	StatusExited     = "exited"
	StatusFailed     = "failed"
	StatusLost       = "lost"
	StatusStopping   = "stopping"
	StatusStopped    = "stopped"
)

// Instance is a process or container of a tenant, placed on at most one
// host. The server owns Desired, HostID, Generation and RestartSeq; the
// host's agent reports Status and the fields after it.
type Instance struct {
	ID          string
	TenantID    string
	ClusterID   string
	Name        string // unique in the tenant
	Priority    int    // the quota tier it draws from
	Labels      map[string]string
	Constraints []string // host label terms, ANDed
	Zone        string   // availability zone it must run in (empty: any)
	// Group names the tenant's instance group it belongs to (empty: none);
	// GroupPolicy is GroupSameHost or GroupDifferentHost.
	Group       string
	GroupPolicy string
	// Image is the container image (empty for processes), for hosts
	// reserved to images.
	Image string
	// HostPorts are the host ports it maps; no two instances on a host map
	// the same one.
	HostPorts []int
	Driver    string
	// Spec is the instance's API spec as JSON; the store keeps it opaque.
	Spec      []byte
	Resources Resources // charged to the quota and to the host
	Desired   string
	// HostID is empty while the instance is not placed.
	HostID string
	// Generation counts placements: a copy of an older generation is stale.
	Generation int64
	// RestartSeq grows with every restart request.
	RestartSeq int64
	Status     string
	Restarts   int
	ExitCode   *int
	OOMKilled  bool
	Message    string
	StartedAt  time.Time // zero: not running
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Read only names, filled by the getters and lists.
	TenantName  string
	ClusterName string
	HostName    string
}

// Instance group policies.
const (
	GroupSameHost      = "same-host"
	GroupDifferentHost = "different-host"
)

// Placed is an instance on a host as the scheduler sees it.
type Placed struct {
	ID          string
	HostID      string
	TenantID    string
	Priority    int
	Resources   Resources
	Group       string
	GroupPolicy string
	HostPorts   []int
}

// AssignmentRef is an instance on a host, as its agent's long-poll sees it.
type AssignmentRef struct {
	ID         string
	Generation int64
	// AssignRev is the host's assignment revision when the instance's
	// assignment last changed.
	AssignRev int64
	// What the host's agent last reported, to tell a changed report
	// (filled when asked for).
	Status    string
	Restarts  int
	ExitCode  *int
	OOMKilled bool
	Message   string
	StartedAt time.Time
}

// PlacedFilter selects placed instances of a cluster for
// [InstanceTx.ListPlaced]; its conditions are ANDed.
type PlacedFilter struct {
	ClusterID string
	// TenantID and Group, when Group is set, keep the members of that
	// tenant's instance group.
	TenantID string
	Group    string
	// WithPorts keeps instances that map host ports.
	WithPorts bool
	// BelowPriority, when positive, keeps instances of lower priority.
	BelowPriority int
}

// InstanceFilter selects instances for [InstanceTx.ListInstances], sorted
// by tenant name, then instance name.
type InstanceFilter struct {
	TenantID string
	// TenantIDs, when non-nil, keeps instances of these tenants only.
	TenantIDs []string
	// IDs, when non-nil, keeps these instances only.
	IDs        []string
	ClusterID  string
	HostID     string
	Status     string
	NamePrefix string
	// Unplaced keeps instances with no host that should run.
	Unplaced bool
	Page
}

// InstanceEvent is one step of an instance's timeline.
type InstanceEvent struct {
	ID         string
	InstanceID string
	At         time.Time
	Type       string
	Message    string
	HostID     string // empty when none
	HostName   string // read only
}

// InstanceTx reads and writes instances and their events.
type InstanceTx interface {
	// CreateInstance inserts i; a taken name in the tenant is a *ConflictError.
	CreateInstance(ctx context.Context, i *Instance) error
	GetInstance(ctx context.Context, id string) (Instance, error)
	GetInstanceByName(ctx context.Context, tenantID, name string) (Instance, error)
	ListInstances(ctx context.Context, f InstanceFilter) (instances []Instance, next string, err error)
	// SetAssignRevision records that the assignments of instances ids
	// changed at their host's revision rev.
	SetAssignRevision(ctx context.Context, ids []string, rev int64) error
	// HostAssignments lists the instances placed on a host with their
	// generation and the revision of their last assignment change, by ID,
	// and with their last reports when reports is set.
	HostAssignments(ctx context.Context, hostID string, reports bool) ([]AssignmentRef, error)
	// ListPlaced returns the instances with a host that f selects, in ID order.
	ListPlaced(ctx context.Context, f PlacedFilter) ([]Placed, error)
	// UpdateInstance writes the fields from Desired on and sets UpdatedAt.
	UpdateInstance(ctx context.Context, i *Instance) error
	DeleteInstance(ctx context.Context, id string) error
	// AddInstanceEvents appends events; IDs and times are filled in when empty.
	AddInstanceEvents(ctx context.Context, events []InstanceEvent) error
	// ListInstanceEvents returns the instance's events, oldest first.
	ListInstanceEvents(ctx context.Context, instanceID string, p Page) (events []InstanceEvent, next string, err error)
}
