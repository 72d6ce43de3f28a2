// Package storetest is the behaviour suite every [store.Store]
// implementation must pass. Implementations call [Run] from their tests
// with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// Run runs the suite. open must return a new empty store for each call and
// close it when t ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"DeleteUser", testDeleteUser},
		{"BatchUsers", testBatchUsers},
		{"BatchUsersRace", testBatchUsersRace},
		{"Tenants", testTenants},
		{"DeleteTenant", testDeleteTenant},
		{"GroupsAndRoles", testGroupsAndRoles},
		{"Tokens", testTokens},
		{"APIKeys", testAPIKeys},
		{"LoginThrottle", testLoginThrottle},
		{"LoginAttemptsConcurrent", testLoginAttemptsConcurrent},
		{"Clusters", testClusters},
		{"Hosts", testHosts},
		{"HostLabelFilter", testHostLabelFilter},
		{"HostLabelProperty", testHostLabelProperty},
		{"Pagination", testPagination},
		{"Quotas", testQuotas},
		{"Admission", testAdmission},
		{"AdmissionConcurrent", testAdmissionConcurrent},
		{"AdmissionModel", testAdmissionModel},
		{"Audit", testAudit},
		{"WriteRollsBack", testWriteRollsBack},
		{"PingAndDialect", testPingAndDialect},
		{"AuthEpoch", testAuthEpoch},
		{"Instances", testInstances},
		{"Placement", testPlacement},
		{"Agents", testAgents},
		{"Metrics", testMetrics},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// write runs fn in a write transaction and fails t on error.
func write(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Write(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// read runs fn on the read path and fails t on error.
func read(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Read(ctx, func(tx store.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("read: %v", err)
	}
}

// tryWrite runs fn in a write transaction and returns its error.
func tryWrite(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) error {
	ctx := t.Context()
	return s.Write(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
}

// wantAs fails t unless err is (wraps) an error of type E, and returns it.
func wantAs[E error](t *testing.T, err error) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("got error %v (%T), want %T", err, err, target)
	}
	return target
}

// wantIs fails t unless errors.Is(err, target).
func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func mkUser(t *testing.T, s store.Store, name string) store.User {
	t.Helper()
	u := store.User{Name: name, Email: name + "@example.com", Enabled: true, PasswordHash: "hash-" + name}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateUser(ctx, &u) })
	return u
}

func mkTenant(t *testing.T, s store.Store, name string) store.Tenant {
	t.Helper()
	tn := store.Tenant{Name: name, Kind: store.TenantGroup, Description: "tenant " + name}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateTenant(ctx, &tn) })
	return tn
}

func mkGroup(t *testing.T, s store.Store, name string) store.Group {
	t.Helper()
	g := store.Group{Name: name}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateGroup(ctx, &g) })
	return g
}

func mkCluster(t *testing.T, s store.Store, name, ownerTenantID string) store.Cluster {
	t.Helper()
	c := store.Cluster{Name: name, OwnerTenantID: ownerTenantID}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateCluster(ctx, &c) })
	return c
}

func mkHost(t *testing.T, s store.Store, name, clusterID string, labels map[string]string) store.Host {
	t.Helper()
	h := store.Host{Name: name, ClusterID: clusterID, Labels: labels,
		Capacity: store.HostResources{CPU: 8, MemoryMiB: 16384, DiskMiB: 102400, NetworkMbps: 1000}}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateHost(ctx, &h) })
	return h
}

// tier returns a quota tier with the given priority and limits.
func tier(priority int, cpu float64, mem, storage, net int64) store.QuotaTier {
	return store.QuotaTier{Priority: priority, Limits: store.Resources{CPU: cpu, MemoryMiB: mem, StorageMiB: storage, NetworkMbps: net}}
}

func putQuota(t *testing.T, s store.Store, tenantID, clusterID string, tiers ...store.QuotaTier) store.Quota {
	t.Helper()
	q := store.Quota{TenantID: tenantID, ClusterID: clusterID, Tiers: tiers}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.PutQuota(ctx, &q, time.Now())
		return err
	})
	return q
}

func reserve(t *testing.T, s store.Store, r store.QuotaRequest) error {
	t.Helper()
	return tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.ReserveQuota(ctx, r)
		return err
	})
}

// names returns the result of name applied to each item.
func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

func userName(u store.User) string      { return u.Name }
func tenantName(tn store.Tenant) string { return tn.Name }
func hostName(h store.Host) string      { return h.Name }

// equal fails t unless got equals want, formatted with %v.
func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// equalList fails t unless the lists are equal.
func equalList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// farFuture is an expiry that no test reaches.
var farFuture = time.Now().Add(240 * time.Hour)

func now() time.Time { return time.Now() }
