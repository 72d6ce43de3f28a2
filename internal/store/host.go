package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Host states.
const (
	HostReady    = "ready"
	HostDown     = "down"
	HostCordoned = "cordoned"
	HostDraining = "draining"
)

// HostResources is a host's capacity or usage.
type HostResources struct {
	CPU         float64 // cores
	MemoryMiB   int64
	DiskMiB     int64
	NetworkMbps int64
}

// Host is a machine of a cluster.
type Host struct {
	ID        string
	Name      string // globally unique
	ClusterID string
	Address   string
	Labels    map[string]string // never nil when read
	Capacity  HostResources
	Usage     HostResources
	State     string
	OS        string
	Arch      string
	// Zone is the host's availability zone (empty: none).
	Zone string
	// IsolatedTenants and IsolatedImages, when not empty, reserve the host
	// for those tenants (by name) or images. Never nil when read.
	IsolatedTenants []string
	IsolatedImages  []string
	// DrainInstance is the instance a drain moved last: the next moves once
	// it runs on its new host.
	DrainInstance string
	// InstanceCount is how many instances are placed on the host (read
	// only; filled by [HostTx.CountHostInstances]).
	InstanceCount   int
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastHeartbeatAt time.Time // zero: never
	// LeaseUntil is until when the host's agent may run its instances
	// without hearing from the server again (zero: never granted).
	LeaseUntil time.Time
	// AgentURL is where the server reaches the host's agent (read only
	// here: written by [AgentTx.SetHostAgent]).
	AgentURL string
	// Drivers is the agent's driver report as JSON (read only here).
	Drivers string
}

// Label term operators.
const (
	LabelEquals    = "="  // key=value
	LabelNotEquals = "!=" // key!=value; also true when the key is absent
	LabelExists    = ""   // key
	LabelNotExists = "!"  // !key
)

// LabelTerm is one host label condition; a filter ANDs its terms.
type LabelTerm struct {
	Key   string
	Op    string // LabelEquals, LabelNotEquals, LabelExists or LabelNotExists
	Value string
}

// ParseLabelTerm parses `k=v`, `k!=v`, `k` or `!k`. It checks the shape
// only; validating key and value syntax is the caller's job.
func ParseLabelTerm(s string) (LabelTerm, error) {
	var t LabelTerm
	switch {
	case strings.Contains(s, "!="):
		k, v, _ := strings.Cut(s, "!=")
		t = LabelTerm{Key: k, Op: LabelNotEquals, Value: v}
	case strings.Contains(s, "="):
		k, v, _ := strings.Cut(s, "=")
		t = LabelTerm{Key: k, Op: LabelEquals, Value: v}
	case strings.HasPrefix(s, "!"):
		t = LabelTerm{Key: s[1:], Op: LabelNotExists}
	default:
		t = LabelTerm{Key: s, Op: LabelExists}
	}
	if t.Key == "" || strings.ContainsAny(t.Key, "!=") || strings.ContainsAny(t.Value, "!=") {
		return LabelTerm{}, fmt.Errorf("label term %q: want k=v, k!=v, k or !k", s)
	}
	return t, nil
}

// String formats the term as ParseLabelTerm reads it.
func (t LabelTerm) String() string {
	switch t.Op {
	case LabelNotExists:
		return "!" + t.Key
	case LabelExists:
		return t.Key
	}
	return t.Key + t.Op + t.Value
}

// HostFilter selects hosts for [HostTx.ListHosts].
type HostFilter struct {
	ClusterID string
	// ClusterIDs, when non-nil, keeps hosts of these clusters only; an
	// empty non-nil slice matches nothing.
	ClusterIDs []string
	NamePrefix string
	State      string
	Labels     []LabelTerm // ANDed
	Page
}

// HostTx reads and writes hosts.
type HostTx interface {
	// CreateHost inserts h with its labels; a taken name is a *ConflictError.
	CreateHost(ctx context.Context, h *Host) error
	GetHost(ctx context.Context, id string) (Host, error)
	GetHostByName(ctx context.Context, name string) (Host, error)
	ListHosts(ctx context.Context, f HostFilter) (hosts []Host, next string, err error)
	// UpdateHost writes address, capacity, usage, state, OS, arch, zone,
	// isolation, last heartbeat and lease (not labels) and sets UpdatedAt.
	UpdateHost(ctx context.Context, h *Host) error
	// UpdateHostLabels sets and removes labels atomically and sets UpdatedAt.
	UpdateHostLabels(ctx context.Context, hostID string, set map[string]string, remove []string, now time.Time) error
	DeleteHost(ctx context.Context, id string) error
	// CountHostInstances fills in the InstanceCount of hosts.
	CountHostInstances(ctx context.Context, hosts []Host) error
}
