package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// cpuEpsilon absorbs floating point drift when cpu amounts are summed.
const cpuEpsilon = 1e-9

// tierUsed returns a condition true for a quota tier (named a) that has usage.
func tierUsed(a string) string {
	return strings.NewReplacer("{a}", a).Replace(`{a}.used_cpu > 0 OR {a}.used_memory_mib > 0 OR {a}.used_storage_mib > 0
		OR {a}.used_network_mbps > 0
		OR EXISTS (SELECT 1 FROM quota_allocations qa WHERE qa.quota_id = {a}.quota_id AND qa.priority = {a}.priority)`)
}

const quotaCols = "q.id, q.tenant_id, q.cluster_id, q.created_at, q.updated_at, tn.name, c.name"

const quotaFrom = " FROM quotas q JOIN tenants tn ON tn.id = q.tenant_id JOIN clusters c ON c.id = q.cluster_id"

const tierCols = `qt.quota_id, qt.priority, qt.limit_cpu, qt.limit_memory_mib, qt.limit_storage_mib, qt.limit_network_mbps,
	qt.used_cpu, qt.used_memory_mib, qt.used_storage_mib, qt.used_network_mbps`

func scanQuota(s interface{ Scan(...any) error }) (store.Quota, error) {
	var q store.Quota
	var created, updated int64
	err := s.Scan(&q.ID, &q.TenantID, &q.ClusterID, &created, &updated, &q.TenantName, &q.ClusterName)
	q.CreatedAt, q.UpdatedAt = fromMicros(created), fromMicros(updated)
	return q, err
}

func scanTier(s interface{ Scan(...any) error }) (string, store.QuotaTier, error) {
	var quotaID string
	var qt store.QuotaTier
	err := s.Scan(&quotaID, &qt.Priority, &qt.Limits.CPU, &qt.Limits.MemoryMiB, &qt.Limits.StorageMiB, &qt.Limits.NetworkMbps,
		&qt.Used.CPU, &qt.Used.MemoryMiB, &qt.Used.StorageMiB, &qt.Used.NetworkMbps)
	qt.Limits.CPU, qt.Used.CPU = roundCPU(qt.Limits.CPU), roundCPU(qt.Used.CPU)
	return quotaID, qt, err
}

// roundCPU hides the drift of summed cpu amounts: the store keeps cpu to
// the micro-core.
func roundCPU(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// resourceFields lists the resources of r in the order admission checks them.
func resourceFields(r store.Resources) []struct {
	name string
	v    float64
} {
	return []struct {
		name string
		v    float64
	}{
		{"cpu", r.CPU}, {"memory_mib", float64(r.MemoryMiB)},
		{"storage_mib", float64(r.StorageMiB)}, {"network_mbps", float64(r.NetworkMbps)},
	}
}

func (t *tx) GetQuota(ctx context.Context, tenantID, clusterID string) (store.Quota, error) {
	q, err := scanQuota(t.queryRow(ctx, "SELECT "+quotaCols+quotaFrom+" WHERE q.tenant_id = ? AND q.cluster_id = ?", tenantID, clusterID))
	if err != nil {
		return store.Quota{}, notFound(err, "quota", fmt.Sprintf("of tenant id %q on cluster id %q", tenantID, clusterID))
	}
	quotas := []store.Quota{q}
	if err := t.loadTiers(ctx, quotas); err != nil {
		return store.Quota{}, err
	}
	return quotas[0], nil
}

// loadTiers fills in the tiers of quotas with one query.
func (t *tx) loadTiers(ctx context.Context, quotas []store.Quota) error {
	if len(quotas) == 0 {
		return nil
	}
	index := make(map[string]int, len(quotas))
	ids := make([]string, len(quotas))
	for i, q := range quotas {
		ids[i] = q.ID
		index[q.ID] = i
	}
	rows, err := t.query(ctx, "SELECT "+tierCols+" FROM quota_tiers qt WHERE qt.quota_id IN ("+placeholders(len(ids))+
		") ORDER BY qt.quota_id, qt.priority", anySlice(ids)...)
	if err != nil {
		return wrap(err, "load quota tiers")
	}
	defer rows.Close()
	for rows.Next() {
		id, qt, err := scanTier(rows)
		if err != nil {
			return wrap(err, "load quota tiers")
		}
		quotas[index[id]].Tiers = append(quotas[index[id]].Tiers, qt)
	}
	return wrap(rows.Err(), "load quota tiers")
}

func (t *tx) ListQuotas(ctx context.Context, f store.QuotaFilter) ([]store.Quota, string, error) {
	var c conds
	if f.TenantID != "" {
		c.add("q.tenant_id = ?", f.TenantID)
	}
	if f.ClusterID != "" {
		c.add("q.cluster_id = ?", f.ClusterID)
	}
	var tenant, cluster string
	ok, err := decodeCursor(f.Token, "quotas", &tenant, &cluster)
	if err != nil {
		return nil, "", err
	}
	if ok {
		c.add("(tn.name, c.name) > (?, ?)", tenant, cluster)
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+quotaCols+quotaFrom+c.where()+" ORDER BY tn.name, c.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list quotas")
	}
	quotas, err := scanAll(rows, func() (store.Quota, error) { return scanQuota(rows) })
	if err != nil {
		return nil, "", wrap(err, "list quotas")
	}
	quotas, next := pageOf(quotas, limit, "quotas", func(q store.Quota) []any { return []any{q.TenantName, q.ClusterName} })
	if err := t.loadTiers(ctx, quotas); err != nil {
		return nil, "", err
	}
	return quotas, next, nil
}

func (t *tx) DeleteQuota(ctx context.Context, tenantID, clusterID string) error {
	q, err := t.GetQuota(ctx, tenantID, clusterID)
	if err != nil {
		return err
	}
	var priority int
	err = t.queryRow(ctx, "SELECT qt.priority FROM quota_tiers qt WHERE qt.quota_id = ? AND ("+tierUsed("qt")+
		") ORDER BY qt.priority LIMIT 1", q.ID).Scan(&priority)
	switch {
	case err == nil:
		return &store.InUseError{Object: fmt.Sprintf("quota of tenant %q on cluster %q", q.TenantName, q.ClusterName),
			Reason: fmt.Sprintf("tier %d has usage", priority)}
	case !errors.Is(err, sql.ErrNoRows):
		return wrap(err, "check quota usage")
	}
	_, err = t.exec(ctx, "DELETE FROM quotas WHERE id = ?", q.ID)
	if isForeignKey(err) {
		return &store.InUseError{Object: fmt.Sprintf("quota of tenant %q on cluster %q", q.TenantName, q.ClusterName),
			Reason: "a tier has allocations"}
	}
	return wrap(err, "delete quota")
}

func (t *tx) PutQuota(ctx context.Context, q *store.Quota, now time.Time) (bool, error) {
	if err := checkTiers(q.Tiers); err != nil {
		return false, err
	}
	now = fromMicros(now.UnixMicro())
	old, err := t.GetQuota(ctx, q.TenantID, q.ClusterID)
	created := errors.Is(err, store.ErrNotFound)
	switch {
	case created:
		err = t.createQuota(ctx, q, now)
	case err == nil:
		err = t.replaceTiers(ctx, old, q.Tiers, now)
	}
	if err != nil {
		return false, err
	}
	got, err := t.GetQuota(ctx, q.TenantID, q.ClusterID)
	if err != nil {
		return false, err
	}
	*q = got
	return created, nil
}

// checkTiers refuses an empty, oversized or ambiguous tier set.
func checkTiers(tiers []store.QuotaTier) error {
	if len(tiers) == 0 || len(tiers) > store.MaxQuotaTiers {
		return fmt.Errorf("put quota: want 1 to %d tiers, got %d", store.MaxQuotaTiers, len(tiers))
	}
	seen := map[int]bool{}
	for _, qt := range tiers {
		if qt.Priority < 0 || seen[qt.Priority] {
			return fmt.Errorf("put quota: tier priority %d is negative or repeated", qt.Priority)
		}
		seen[qt.Priority] = true
	}
	return nil
}

func (t *tx) createQuota(ctx context.Context, q *store.Quota, now time.Time) error {
	id := newID()
	_, err := t.exec(ctx, "INSERT INTO quotas (id, tenant_id, cluster_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		id, q.TenantID, q.ClusterID, now.UnixMicro(), now.UnixMicro())
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "tenant or cluster", Key: "of quota"}
	}
	if err != nil {
		// Another transaction created this quota since GetQuota looked:
		// run again, which replaces its tiers instead.
		return raced(err, "insert quota")
	}
	for _, qt := range q.Tiers {
		if err := t.insertTier(ctx, id, qt); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) insertTier(ctx context.Context, quotaID string, qt store.QuotaTier) error {
	_, err := t.exec(ctx, `INSERT INTO quota_tiers (quota_id, priority, limit_cpu, limit_memory_mib, limit_storage_mib,
		limit_network_mbps) VALUES (?, ?, ?, ?, ?, ?)`, quotaID, qt.Priority,
		qt.Limits.CPU, qt.Limits.MemoryMiB, qt.Limits.StorageMiB, qt.Limits.NetworkMbps)
	return wrap(err, "insert quota tier")
}

// replaceTiers turns the tiers of old into tiers. Deleting and lowering are
// conditional statements, so usage admitted concurrently is never lost.
func (t *tx) replaceTiers(ctx context.Context, old store.Quota, tiers []store.QuotaTier, now time.Time) error {
	object := fmt.Sprintf("quota tier %%d of tenant %q on cluster %q", old.TenantName, old.ClusterName)
	keep := map[int]bool{}
	for _, qt := range tiers {
		keep[qt.Priority] = true
	}
	for _, qt := range old.Tiers {
		if keep[qt.Priority] {
			continue
		}
		n, err := t.execN(ctx, "DELETE FROM quota_tiers WHERE quota_id = ? AND priority = ? AND NOT ("+
			tierUsed("quota_tiers")+")", old.ID, qt.Priority)
		if err != nil && !isForeignKey(err) {
			return wrap(err, "delete quota tier")
		}
		if err != nil || n == 0 {
			return &store.InUseError{Object: fmt.Sprintf(object, qt.Priority), Reason: "it has usage and cannot be removed",
				Tier: &qt.Priority}
		}
	}
	existing := map[int]bool{}
	for _, qt := range old.Tiers {
		existing[qt.Priority] = true
	}
	for _, qt := range tiers {
		if !existing[qt.Priority] {
			if err := t.insertTier(ctx, old.ID, qt); err != nil {
				return err
			}
			continue
		}
		l := qt.Limits
		n, err := t.execN(ctx, `UPDATE quota_tiers SET limit_cpu = ?, limit_memory_mib = ?, limit_storage_mib = ?,
			limit_network_mbps = ? WHERE quota_id = ? AND priority = ? AND used_cpu <= ? AND used_memory_mib <= ?
			AND used_storage_mib <= ? AND used_network_mbps <= ?`,
			l.CPU, l.MemoryMiB, l.StorageMiB, l.NetworkMbps, old.ID, qt.Priority,
			l.CPU+cpuEpsilon, l.MemoryMiB, l.StorageMiB, l.NetworkMbps)
		if err != nil {
			return wrap(err, "update quota tier")
		}
		if n == 0 {
			return t.belowUsage(ctx, old.ID, qt, fmt.Sprintf(object, qt.Priority))
		}
	}
	_, err := t.exec(ctx, "UPDATE quotas SET updated_at = ? WHERE id = ?", now.UnixMicro(), old.ID)
	return wrap(err, "touch quota")
}

// belowUsage explains why new limits of a tier were refused.
func (t *tx) belowUsage(ctx context.Context, quotaID string, want store.QuotaTier, object string) error {
	_, cur, err := scanTier(t.queryRow(ctx, "SELECT "+tierCols+" FROM quota_tiers qt WHERE qt.quota_id = ? AND qt.priority = ?",
		quotaID, want.Priority))
	if err != nil {
		return wrap(err, "read quota tier")
	}
	used := resourceFields(cur.Used)
	for i, lim := range resourceFields(want.Limits) {
		if used[i].v > lim.v+cpuEpsilon {
			return &store.InUseError{Object: object,
				Reason: fmt.Sprintf("%s limit %g is below usage %g", lim.name, lim.v, used[i].v),
				Tier:   &want.Priority, Resource: lim.name}
		}
	}
	return &store.InUseError{Object: object, Reason: "limits are below usage", Tier: &want.Priority}
}
