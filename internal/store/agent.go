package store

import (
	"context"
	"time"
)

// JoinToken lets one machine join a cluster as a host, once, before it
// expires. Only the SHA-256 of the opaque token is stored.
type JoinToken struct {
	ID        string
	TokenHash string
	ClusterID string
	Labels    map[string]string
	CreatedBy string // user name
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero: unused
	HostID    string    // the host that used it
}

// HostAgent is what a host's agent tells the server about itself, and the
// secrets they share.
type HostAgent struct {
	// CredentialHash is the SHA-256 of the host credential the agent
	// presents; unique.
	CredentialHash string
	// Key is the bearer the server presents to the agent.
	Key string
	// URL is where the server reaches the agent.
	URL string
	// Drivers is the agent's driver report as JSON.
	Drivers string
}

// AgentTx reads and writes join tokens and the agent side of hosts.
type AgentTx interface {
	CreateJoinToken(ctx context.Context, t *JoinToken) error
	// UseJoinToken marks the token with this hash used by hostID and returns
	// it; ErrNotFound when it is unknown, used or expired at now.
	UseJoinToken(ctx context.Context, tokenHash, hostID string, now time.Time) (JoinToken, error)
	// SetHostAgent writes the agent fields of a host (an empty
	// CredentialHash or Key leaves the stored one).
	SetHostAgent(ctx context.Context, hostID string, a HostAgent) error
	GetHostAgent(ctx context.Context, hostID string) (HostAgent, error)
	// GetHostByCredential returns the host whose credential has this hash.
	GetHostByCredential(ctx context.Context, credentialHash string) (Host, error)
	// BumpAssignRevision raises the assignment revision of a host and
	// returns the new value.
	BumpAssignRevision(ctx context.Context, hostID string) (int64, error)
	// AssignRevision returns the assignment revision of a host.
	AssignRevision(ctx context.Context, hostID string) (int64, error)
	// AcquireLease takes or renews the named lease for holder until
	// now+ttl, if it is free, expired or already held by holder.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
}

// Metric resolutions, in seconds.
const (
	ResolutionRaw    = 10
	ResolutionRollup = 300
)

// MetricSample is the resource use of a host or an instance at one time.
type MetricSample struct {
	ObjectID    string // host or instance ID
	Resolution  int    // ResolutionRaw or ResolutionRollup
	At          time.Time
	CPU         float64 // cores
	MemoryBytes int64
}

// MetricTx keeps resource samples.
type MetricTx interface {
	// AddSamples stores samples; a second sample of an object at the same
	// time replaces the first.
	AddSamples(ctx context.Context, samples []MetricSample) error
	// ListSamples returns an object's samples of one resolution in
	// [since, until), oldest first.
	ListSamples(ctx context.Context, objectID string, resolution int, since, until time.Time) ([]MetricSample, error)
	// LatestSamples returns the newest raw sample of every object sampled
	// at or after since.
	LatestSamples(ctx context.Context, since time.Time) ([]MetricSample, error)
	// RollupSamples averages the raw samples of [from, to) into
	// ResolutionRollup buckets (from and to on bucket bounds).
	RollupSamples(ctx context.Context, from, to time.Time) error
	// PruneSamples deletes samples of a resolution older than before.
	PruneSamples(ctx context.Context, resolution int, before time.Time) (int64, error)
}
