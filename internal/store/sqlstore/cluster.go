package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// clusterCols selects a cluster c.
const clusterCols = `c.id, c.name, c.description, COALESCE(c.owner_tenant_id, ''), c.cpu_overcommit, c.memory_overcommit,
	c.strategy, c.registry, c.heartbeat_timeout_ms, c.max_starting, c.created_at, c.updated_at`

// totalCols selects the totals ht of a cluster's hosts, after clusterCols.
const totalCols = `, COALESCE(ht.n, 0), COALESCE(ht.cap_cpu, 0.0), COALESCE(ht.cap_memory_mib, 0), COALESCE(ht.cap_disk_mib, 0),
	COALESCE(ht.cap_network_mbps, 0), COALESCE(ht.used_cpu, 0.0), COALESCE(ht.used_memory_mib, 0),
	COALESCE(ht.used_disk_mib, 0), COALESCE(ht.used_network_mbps, 0)`

// clusterFrom joins clusters c with the totals ht of their hosts.
const clusterFrom = ` FROM clusters c LEFT JOIN (SELECT cluster_id, COUNT(*) AS n,
	SUM(cap_cpu) AS cap_cpu, CAST(SUM(cap_memory_mib) AS BIGINT) AS cap_memory_mib,
	CAST(SUM(cap_disk_mib) AS BIGINT) AS cap_disk_mib, CAST(SUM(cap_network_mbps) AS BIGINT) AS cap_network_mbps,
	SUM(used_cpu) AS used_cpu, CAST(SUM(used_memory_mib) AS BIGINT) AS used_memory_mib,
	CAST(SUM(used_disk_mib) AS BIGINT) AS used_disk_mib, CAST(SUM(used_network_mbps) AS BIGINT) AS used_network_mbps
	FROM hosts GROUP BY cluster_id) ht ON ht.cluster_id = c.id`

// scanCluster reads clusterCols, and totalCols when withTotals.
func scanCluster(s interface{ Scan(...any) error }, withTotals bool) (store.Cluster, error) {
	var c store.Cluster
	var created, updated, heartbeatMS int64
	dest := []any{&c.ID, &c.Name, &c.Description, &c.OwnerTenantID, &c.CPUOvercommit, &c.MemoryOvercommit,
		&c.Strategy, &c.Registry, &heartbeatMS, &c.MaxStarting, &created, &updated}
	if withTotals {
		dest = append(dest, &c.HostCount, &c.Capacity.CPU, &c.Capacity.MemoryMiB, &c.Capacity.DiskMiB, &c.Capacity.NetworkMbps,
			&c.Usage.CPU, &c.Usage.MemoryMiB, &c.Usage.DiskMiB, &c.Usage.NetworkMbps)
	}
	err := s.Scan(dest...)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.HeartbeatTimeout = time.Duration(heartbeatMS) * time.Millisecond
	return c, err
}

func (t *tx) CreateCluster(ctx context.Context, c *store.Cluster) error {
	if taken, err := t.exists(ctx, "SELECT 1 FROM clusters WHERE name = ?", c.Name); err != nil {
		return wrap(err, "check cluster name")
	} else if taken {
		return &store.ConflictError{Object: "cluster", Field: "name", Value: c.Name}
	}
	fillID(&c.ID)
	if c.CPUOvercommit == 0 {
		c.CPUOvercommit = 1
	}
	if c.MemoryOvercommit == 0 {
		c.MemoryOvercommit = 1
	}
	if c.Strategy == "" {
		c.Strategy = store.StrategySpread
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = store.DefaultHeartbeatTimeout
	}
	if c.MaxStarting == 0 {
		c.MaxStarting = store.DefaultMaxStarting
	}
	stamp(&c.CreatedAt)
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	stamp(&c.UpdatedAt)
	_, err := t.exec(ctx, `INSERT INTO clusters (id, name, description, owner_tenant_id, cpu_overcommit, memory_overcommit,
		strategy, registry, heartbeat_timeout_ms, max_starting, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.Description, nullString(c.OwnerTenantID), c.CPUOvercommit, c.MemoryOvercommit,
		c.Strategy, c.Registry, c.HeartbeatTimeout.Milliseconds(), c.MaxStarting, c.CreatedAt.UnixMicro(), c.UpdatedAt.UnixMicro())
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "tenant", Key: fmt.Sprintf("with id %q", c.OwnerTenantID)}
	}
	if err != nil {
		return conflictOr(err, "cluster", "name", c.Name)
	}
	return nil
}

func (t *tx) GetCluster(ctx context.Context, id string) (store.Cluster, error) {
	c, err := scanCluster(t.queryRow(ctx, "SELECT "+clusterCols+" FROM clusters c WHERE c.id = ?"+t.lockRow("c"), id), false)
	return c, notFound(err, "cluster", fmt.Sprintf("with id %q", id))
}

func (t *tx) GetClusterByName(ctx context.Context, name string) (store.Cluster, error) {
	c, err := scanCluster(t.queryRow(ctx, "SELECT "+clusterCols+" FROM clusters c WHERE c.name = ?"+t.lockRow("c"), name), false)
	return c, notFound(err, "cluster", fmt.Sprintf("%q", name))
}

func (t *tx) LoadClusterTotals(ctx context.Context, c *store.Cluster) error {
	err := t.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(cap_cpu), 0.0), COALESCE(SUM(cap_memory_mib), 0),
		COALESCE(SUM(cap_disk_mib), 0), COALESCE(SUM(cap_network_mbps), 0), COALESCE(SUM(used_cpu), 0.0),
		COALESCE(SUM(used_memory_mib), 0), COALESCE(SUM(used_disk_mib), 0), COALESCE(SUM(used_network_mbps), 0)
		FROM hosts WHERE cluster_id = ?`, c.ID).
		Scan(&c.HostCount, &c.Capacity.CPU, &c.Capacity.MemoryMiB, &c.Capacity.DiskMiB, &c.Capacity.NetworkMbps,
			&c.Usage.CPU, &c.Usage.MemoryMiB, &c.Usage.DiskMiB, &c.Usage.NetworkMbps)
	return wrap(err, "cluster totals")
}

func (t *tx) ListClusters(ctx context.Context, f store.ClusterFilter) ([]store.Cluster, string, error) {
	var c conds
	if f.Scoped {
		if len(f.TenantIDs) == 0 {
			c.add("c.owner_tenant_id IS NULL")
		} else {
			c.add("(c.owner_tenant_id IS NULL OR c.owner_tenant_id IN ("+placeholders(len(f.TenantIDs))+"))", anySlice(f.TenantIDs)...)
		}
	}
	c.prefix("c.name", f.NamePrefix)
	if err := c.afterName("c.name", f.Page, "clusters"); err != nil {
		return nil, "", err
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+clusterCols+totalCols+clusterFrom+c.where()+" ORDER BY c.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list clusters")
	}
	clusters, err := scanAll(rows, func() (store.Cluster, error) { return scanCluster(rows, true) })
	if err != nil {
		return nil, "", wrap(err, "list clusters")
	}
	clusters, next := pageOf(clusters, limit, "clusters", func(c store.Cluster) []any { return []any{c.Name} })
	return clusters, next, nil
}

func (t *tx) UpdateCluster(ctx context.Context, c *store.Cluster) error {
	c.UpdatedAt = now()
	n, err := t.execN(ctx, `UPDATE clusters SET description = ?, cpu_overcommit = ?, memory_overcommit = ?,
		strategy = ?, registry = ?, heartbeat_timeout_ms = ?, max_starting = ?, updated_at = ? WHERE id = ?`,
		c.Description, c.CPUOvercommit, c.MemoryOvercommit, c.Strategy, c.Registry, c.HeartbeatTimeout.Milliseconds(),
		c.MaxStarting, c.UpdatedAt.UnixMicro(), c.ID)
	if err != nil {
		return wrap(err, "update cluster")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "cluster", Key: fmt.Sprintf("%q", c.Name)}
	}
	return nil
}

func (t *tx) DeleteCluster(ctx context.Context, id string) error {
	c, err := t.GetCluster(ctx, id)
	if err != nil {
		return err
	}
	if err := t.LoadClusterTotals(ctx, &c); err != nil {
		return err
	}
	if c.HostCount > 0 {
		return &store.InUseError{Object: fmt.Sprintf("cluster %q", c.Name), Reason: fmt.Sprintf("it has %d hosts", c.HostCount)}
	}
	var quotas int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM quotas WHERE cluster_id = ?", id).Scan(&quotas); err != nil {
		return wrap(err, "count cluster quotas")
	}
	if quotas > 0 {
		return &store.InUseError{Object: fmt.Sprintf("cluster %q", c.Name), Reason: fmt.Sprintf("it has %d quotas", quotas)}
	}
	var instances int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM instances WHERE cluster_id = ?", id).Scan(&instances); err != nil {
		return wrap(err, "count cluster instances")
	}
	if instances > 0 {
		return &store.InUseError{Object: fmt.Sprintf("cluster %q", c.Name), Reason: fmt.Sprintf("it has %d instances", instances)}
	}
	_, err = t.exec(ctx, "DELETE FROM clusters WHERE id = ?", id)
	if isForeignKey(err) {
		return &store.InUseError{Object: fmt.Sprintf("cluster %q", c.Name), Reason: "it has hosts or quotas"}
	}
	return wrap(err, "delete cluster")
}
