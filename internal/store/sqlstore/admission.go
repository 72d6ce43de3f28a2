package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// reserveAttempts bounds how often ReserveQuota re-checks a refusal that
// the tier, read afterwards, turns out to fit (usage released meanwhile).
const reserveAttempts = 3

func (t *tx) ReserveQuota(ctx context.Context, r store.QuotaRequest) (store.QuotaAllocation, error) {
	res := r.Resources
	if res.CPU < 0 || res.MemoryMiB < 0 || res.StorageMiB < 0 || res.NetworkMbps < 0 {
		return store.QuotaAllocation{}, fmt.Errorf("reserve quota: negative resources %+v", res)
	}
	for range reserveAttempts {
		// One conditional UPDATE admits or refuses atomically: PostgreSQL
		// re-checks the condition on the locked row, SQLite has one writer.
		var quotaID string
		err := t.queryRow(ctx, `UPDATE quota_tiers SET used_cpu = used_cpu + ?, used_memory_mib = used_memory_mib + ?,
			used_storage_mib = used_storage_mib + ?, used_network_mbps = used_network_mbps + ?
			WHERE quota_id = (SELECT id FROM quotas WHERE tenant_id = ? AND cluster_id = ?) AND priority = ?
			AND used_cpu + ? <= limit_cpu + ? AND used_memory_mib + ? <= limit_memory_mib
			AND used_storage_mib + ? <= limit_storage_mib AND used_network_mbps + ? <= limit_network_mbps
			RETURNING quota_id`,
			res.CPU, res.MemoryMiB, res.StorageMiB, res.NetworkMbps, r.TenantID, r.ClusterID, r.Priority,
			res.CPU, cpuEpsilon, res.MemoryMiB, res.StorageMiB, res.NetworkMbps).Scan(&quotaID)
		switch {
		case err == nil:
			return t.insertAllocation(ctx, quotaID, r)
		case !errors.Is(err, sql.ErrNoRows):
			return store.QuotaAllocation{}, wrap(err, "reserve quota")
		}
		if err := t.refusal(ctx, r); err != nil {
			return store.QuotaAllocation{}, err
		}
	}
	return store.QuotaAllocation{}, fmt.Errorf("reserve quota: tier %d kept changing", r.Priority)
}

func (t *tx) insertAllocation(ctx context.Context, quotaID string, r store.QuotaRequest) (store.QuotaAllocation, error) {
	a := store.QuotaAllocation{ID: newID(), QuotaID: quotaID, Priority: r.Priority, Resources: r.Resources,
		OwnerKind: r.OwnerKind, OwnerID: r.OwnerID, CreatedAt: now()}
	_, err := t.exec(ctx, `INSERT INTO quota_allocations (id, quota_id, priority, owner_kind, owner_id, cpu, memory_mib,
		storage_mib, network_mbps, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.QuotaID, a.Priority, a.OwnerKind, a.OwnerID, a.Resources.CPU, a.Resources.MemoryMiB,
		a.Resources.StorageMiB, a.Resources.NetworkMbps, a.CreatedAt.UnixMicro())
	if err != nil {
		return store.QuotaAllocation{}, wrap(err, "insert quota allocation")
	}
	return a, nil
}

// refusal explains a refused reservation: no such tier, or the first
// resource that does not fit. It returns nil when the request fits now.
func (t *tx) refusal(ctx context.Context, r store.QuotaRequest) error {
	_, tier, err := scanTier(t.queryRow(ctx, "SELECT "+tierCols+` FROM quota_tiers qt JOIN quotas q ON q.id = qt.quota_id
		WHERE q.tenant_id = ? AND q.cluster_id = ? AND qt.priority = ?`, r.TenantID, r.ClusterID, r.Priority))
	if errors.Is(err, sql.ErrNoRows) {
		var cluster string
		if err := t.queryRow(ctx, "SELECT name FROM clusters WHERE id = ?", r.ClusterID).Scan(&cluster); err != nil {
			cluster = r.ClusterID
		}
		return &store.NotFoundError{Object: "quota tier", Key: fmt.Sprintf("with priority %d on cluster %q", r.Priority, cluster)}
	}
	if err != nil {
		return wrap(err, "read quota tier")
	}
	req, used, limit := resourceFields(r.Resources), resourceFields(tier.Used), resourceFields(tier.Limits)
	for i := range req {
		if used[i].v+req[i].v > limit[i].v+cpuEpsilon {
			return &store.QuotaExceededError{Resource: req[i].name, Requested: req[i].v, Used: used[i].v,
				Limit: limit[i].v, Priority: r.Priority}
		}
	}
	return nil
}

func (t *tx) ReleaseQuota(ctx context.Context, ownerKind, ownerID string) error {
	// DELETE ... RETURNING claims the allocations, so a concurrent release
	// of the same owner finds nothing to return.
	rows, err := t.query(ctx, `DELETE FROM quota_allocations WHERE owner_kind = ? AND owner_id = ?
		RETURNING quota_id, priority, cpu, memory_mib, storage_mib, network_mbps`, ownerKind, ownerID)
	if err != nil {
		return wrap(err, "release quota")
	}
	allocs, err := scanAll(rows, func() (store.QuotaAllocation, error) {
		var a store.QuotaAllocation
		return a, rows.Scan(&a.QuotaID, &a.Priority, &a.Resources.CPU, &a.Resources.MemoryMiB,
			&a.Resources.StorageMiB, &a.Resources.NetworkMbps)
	})
	if err != nil {
		return wrap(err, "release quota")
	}
	for _, a := range allocs {
		res := a.Resources
		_, err := t.exec(ctx, `UPDATE quota_tiers SET
			used_cpu = CASE WHEN used_cpu - ? < ? THEN 0 ELSE used_cpu - ? END,
			used_memory_mib = used_memory_mib - ?, used_storage_mib = used_storage_mib - ?,
			used_network_mbps = used_network_mbps - ? WHERE quota_id = ? AND priority = ?`,
			res.CPU, cpuEpsilon, res.CPU, res.MemoryMiB, res.StorageMiB, res.NetworkMbps, a.QuotaID, a.Priority)
		if err != nil {
			return wrap(err, "release quota")
		}
	}
	return nil
}

func (t *tx) ListQuotaAllocations(ctx context.Context, ownerKind, ownerID string) ([]store.QuotaAllocation, error) {
	rows, err := t.query(ctx, `SELECT id, quota_id, priority, owner_kind, owner_id, cpu, memory_mib, storage_mib,
		network_mbps, created_at FROM quota_allocations WHERE owner_kind = ? AND owner_id = ? ORDER BY created_at, id`,
		ownerKind, ownerID)
	if err != nil {
		return nil, wrap(err, "list quota allocations")
	}
	allocs, err := scanAll(rows, func() (store.QuotaAllocation, error) {
		var a store.QuotaAllocation
		var created int64
		err := rows.Scan(&a.ID, &a.QuotaID, &a.Priority, &a.OwnerKind, &a.OwnerID, &a.Resources.CPU,
			&a.Resources.MemoryMiB, &a.Resources.StorageMiB, &a.Resources.NetworkMbps, &created)
		a.CreatedAt = fromMicros(created)
		return a, err
	})
	return allocs, wrap(err, "list quota allocations")
}
