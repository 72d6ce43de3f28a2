package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const hostCols = `h.id, h.name, h.cluster_id, h.address, h.cap_cpu, h.cap_memory_mib, h.cap_disk_mib, h.cap_network_mbps,
	h.used_cpu, h.used_memory_mib, h.used_disk_mib, h.used_network_mbps, h.state, h.os, h.arch,
	h.created_at, h.updated_at, h.last_heartbeat_at, h.agent_url, h.drivers, h.lease_until, h.zone,
	h.isolated_tenants, h.isolated_images, h.drain_instance`

func scanHost(s interface{ Scan(...any) error }) (store.Host, error) {
	var h store.Host
	var created, updated int64
	var heartbeat, lease sql.NullInt64
	var tenants, images string
	err := s.Scan(&h.ID, &h.Name, &h.ClusterID, &h.Address,
		&h.Capacity.CPU, &h.Capacity.MemoryMiB, &h.Capacity.DiskMiB, &h.Capacity.NetworkMbps,
		&h.Usage.CPU, &h.Usage.MemoryMiB, &h.Usage.DiskMiB, &h.Usage.NetworkMbps,
		&h.State, &h.OS, &h.Arch, &created, &updated, &heartbeat, &h.AgentURL, &h.Drivers, &lease, &h.Zone,
		&tenants, &images, &h.DrainInstance)
	if err != nil {
		return h, err
	}
	h.LeaseUntil = fromNullMicros(lease)
	h.CreatedAt, h.UpdatedAt, h.LastHeartbeatAt = fromMicros(created), fromMicros(updated), fromNullMicros(heartbeat)
	h.Labels = map[string]string{}
	if err := json.Unmarshal([]byte(tenants), &h.IsolatedTenants); err != nil {
		return h, fmt.Errorf("host %s isolated tenants: %w", h.ID, err)
	}
	if err := json.Unmarshal([]byte(images), &h.IsolatedImages); err != nil {
		return h, fmt.Errorf("host %s isolated images: %w", h.ID, err)
	}
	h.IsolatedTenants, h.IsolatedImages = nonNil(h.IsolatedTenants), nonNil(h.IsolatedImages)
	return h, nil
}

// nonNil returns s, or an empty slice for nil.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (t *tx) CreateHost(ctx context.Context, h *store.Host) error {
	if taken, err := t.exists(ctx, "SELECT 1 FROM hosts WHERE name = ?", h.Name); err != nil {
		return wrap(err, "check host name")
	} else if taken {
		return &store.ConflictError{Object: "host", Field: "name", Value: h.Name}
	}
	fillID(&h.ID)
	if h.State == "" {
		h.State = store.HostReady
	}
	if h.Labels == nil {
		h.Labels = map[string]string{}
	}
	if h.Drivers == "" {
		h.Drivers = "[]"
	}
	stamp(&h.CreatedAt)
	if h.UpdatedAt.IsZero() {
		h.UpdatedAt = h.CreatedAt
	}
	stamp(&h.UpdatedAt)
	h.LastHeartbeatAt = fromNullMicros(toNull(h.LastHeartbeatAt))
	_, err := t.exec(ctx, `INSERT INTO hosts (id, name, cluster_id, address, cap_cpu, cap_memory_mib, cap_disk_mib,
		cap_network_mbps, used_cpu, used_memory_mib, used_disk_mib, used_network_mbps, state, os, arch,
		created_at, updated_at, last_heartbeat_at, zone, isolated_tenants, isolated_images)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, h.Name, h.ClusterID, h.Address, h.Capacity.CPU, h.Capacity.MemoryMiB, h.Capacity.DiskMiB,
		h.Capacity.NetworkMbps, h.Usage.CPU, h.Usage.MemoryMiB, h.Usage.DiskMiB, h.Usage.NetworkMbps,
		h.State, h.OS, h.Arch, h.CreatedAt.UnixMicro(), h.UpdatedAt.UnixMicro(), nullMicros(h.LastHeartbeatAt),
		h.Zone, jsonText(nonNil(h.IsolatedTenants)), jsonText(nonNil(h.IsolatedImages)))
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "cluster", Key: fmt.Sprintf("with id %q", h.ClusterID)}
	}
	if err != nil {
		return conflictOr(err, "host", "name", h.Name)
	}
	return t.setLabels(ctx, h.ID, h.Labels)
}

// setLabels creates or replaces the given labels of a host.
func (t *tx) setLabels(ctx context.Context, hostID string, labels map[string]string) error {
	rows := make([][]any, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		rows = append(rows, []any{hostID, k, labels[k]})
	}
	err := t.insertRows(ctx, "host_labels", "host_id, name, value", rows,
		" ON CONFLICT (host_id, name) DO UPDATE SET value = excluded.value")
	return wrap(err, "set host labels")
}

func (t *tx) GetHost(ctx context.Context, id string) (store.Host, error) {
	return t.getHost(ctx, "h.id = ?", id, fmt.Sprintf("with id %q", id))
}

func (t *tx) GetHostByName(ctx context.Context, name string) (store.Host, error) {
	return t.getHost(ctx, "h.name = ?", name, fmt.Sprintf("%q", name))
}

func (t *tx) getHost(ctx context.Context, cond, arg, key string) (store.Host, error) {
	h, err := scanHost(t.queryRow(ctx, "SELECT "+hostCols+" FROM hosts h WHERE "+cond+t.lockRow("h"), arg))
	if err != nil {
		return store.Host{}, notFound(err, "host", key)
	}
	hosts := []store.Host{h}
	if err := t.loadLabels(ctx, hosts); err != nil {
		return store.Host{}, err
	}
	return hosts[0], nil
}

// loadLabels fills in the labels of hosts with one query.
func (t *tx) loadLabels(ctx context.Context, hosts []store.Host) error {
	if len(hosts) == 0 {
		return nil
	}
	byID := make(map[string]map[string]string, len(hosts))
	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID
		byID[h.ID] = h.Labels
	}
	rows, err := t.query(ctx, "SELECT host_id, name, value FROM host_labels WHERE host_id IN ("+placeholders(len(ids))+")", anySlice(ids)...)
	if err != nil {
		return wrap(err, "load host labels")
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return wrap(err, "load host labels")
		}
		byID[id][k] = v
	}
	return wrap(rows.Err(), "load host labels")
}

// labelCond returns the SQL condition of one label term on host h.
func labelCond(term store.LabelTerm) (string, []any, error) {
	const has = "EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = h.id AND l.name = ?"
	switch term.Op {
	case store.LabelEquals:
		return has + " AND l.value = ?)", []any{term.Key, term.Value}, nil
	case store.LabelNotEquals:
		return "NOT " + has + " AND l.value = ?)", []any{term.Key, term.Value}, nil
	case store.LabelExists:
		return has + ")", []any{term.Key}, nil
	case store.LabelNotExists:
		return "NOT " + has + ")", []any{term.Key}, nil
	}
	return "", nil, fmt.Errorf("unknown label operator %q", term.Op)
}

func (t *tx) ListHosts(ctx context.Context, f store.HostFilter) ([]store.Host, string, error) {
	var c conds
	if f.ClusterID != "" {
		c.add("h.cluster_id = ?", f.ClusterID)
	}
	if f.ClusterIDs != nil {
		c.in("h.cluster_id", f.ClusterIDs)
	}
	c.prefix("h.name", f.NamePrefix)
	if f.State != "" {
		c.add("h.state = ?", f.State)
	}
	for _, term := range f.Labels {
		cond, args, err := labelCond(term)
		if err != nil {
			return nil, "", err
		}
		c.add(cond, args...)
	}
	if err := c.afterName("h.name", f.Page, "hosts"); err != nil {
		return nil, "", err
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+hostCols+" FROM hosts h"+c.where()+" ORDER BY h.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list hosts")
	}
	hosts, err := scanAll(rows, func() (store.Host, error) { return scanHost(rows) })
	if err != nil {
		return nil, "", wrap(err, "list hosts")
	}
	hosts, next := pageOf(hosts, limit, "hosts", func(h store.Host) []any { return []any{h.Name} })
	if err := t.loadLabels(ctx, hosts); err != nil {
		return nil, "", err
	}
	return hosts, next, nil
}

func (t *tx) CountHostInstances(ctx context.Context, hosts []store.Host) error {
	if len(hosts) == 0 {
		return nil
	}
	ids := make([]string, len(hosts))
	for n, h := range hosts {
		ids[n] = h.ID
	}
	rows, err := t.query(ctx, "SELECT host_id, COUNT(*) FROM instances WHERE host_id IN ("+placeholders(len(ids))+") GROUP BY host_id", anySlice(ids)...)
	if err != nil {
		return wrap(err, "count host instances")
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return wrap(err, "count host instances")
		}
		counts[id] = n
	}
	for n := range hosts {
		hosts[n].InstanceCount = counts[hosts[n].ID]
	}
	return wrap(rows.Err(), "count host instances")
}

func (t *tx) UpdateHost(ctx context.Context, h *store.Host) error {
	h.UpdatedAt = now()
	h.LastHeartbeatAt = fromNullMicros(toNull(h.LastHeartbeatAt))
	h.LeaseUntil = fromNullMicros(toNull(h.LeaseUntil))
	n, err := t.execN(ctx, `UPDATE hosts SET address = ?, cap_cpu = ?, cap_memory_mib = ?, cap_disk_mib = ?,
		cap_network_mbps = ?, used_cpu = ?, used_memory_mib = ?, used_disk_mib = ?, used_network_mbps = ?,
		state = ?, os = ?, arch = ?, updated_at = ?, last_heartbeat_at = ?, lease_until = ?, zone = ?,
		isolated_tenants = ?, isolated_images = ?, drain_instance = ? WHERE id = ?`,
		h.Address, h.Capacity.CPU, h.Capacity.MemoryMiB, h.Capacity.DiskMiB, h.Capacity.NetworkMbps,
		h.Usage.CPU, h.Usage.MemoryMiB, h.Usage.DiskMiB, h.Usage.NetworkMbps,
		h.State, h.OS, h.Arch, h.UpdatedAt.UnixMicro(), nullMicros(h.LastHeartbeatAt), nullMicros(h.LeaseUntil),
		h.Zone, jsonText(nonNil(h.IsolatedTenants)), jsonText(nonNil(h.IsolatedImages)), h.DrainInstance, h.ID)
	if err != nil {
		return wrap(err, "update host")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "host", Key: fmt.Sprintf("%q", h.Name)}
	}
	return nil
}

func (t *tx) UpdateHostLabels(ctx context.Context, hostID string, set map[string]string, remove []string, now time.Time) error {
	n, err := t.execN(ctx, "UPDATE hosts SET updated_at = ? WHERE id = ?", now.UnixMicro(), hostID)
	if err != nil {
		return wrap(err, "update host labels")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "host", Key: fmt.Sprintf("with id %q", hostID)}
	}
	if len(remove) > 0 {
		_, err := t.exec(ctx, "DELETE FROM host_labels WHERE host_id = ? AND name IN ("+placeholders(len(remove))+")",
			append([]any{hostID}, anySlice(remove)...)...)
		if err != nil {
			return wrap(err, "remove host labels")
		}
	}
	return t.setLabels(ctx, hostID, set)
}

func (t *tx) DeleteHost(ctx context.Context, id string) error {
	var placed int
	if err := t.queryRow(ctx, "SELECT COUNT(*) FROM instances WHERE host_id = ?", id).Scan(&placed); err != nil {
		return wrap(err, "count host instances")
	}
	if placed > 0 {
		return &store.InUseError{Object: "host", Reason: fmt.Sprintf("%d instances are placed on it: delete them, or let them move once the host is down", placed)}
	}
	n, err := t.execN(ctx, "DELETE FROM hosts WHERE id = ?", id)
	if err != nil {
		return wrap(err, "delete host")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "host", Key: fmt.Sprintf("with id %q", id)}
	}
	return nil
}
