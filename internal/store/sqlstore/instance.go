package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const instanceCols = `i.id, i.tenant_id, i.cluster_id, i.name, i.priority, i.labels, i.constraints, i.driver, i.spec,
	i.cpu, i.memory_mib, i.disk_mib, i.network_mbps, i.desired, COALESCE(i.host_id, ''), i.generation, i.restart_seq,
	i.status, i.restarts, i.exit_code, i.oom_killed, i.message, i.started_at, i.created_at, i.updated_at,
	i.zone, i.group_name, i.group_policy, i.image, i.host_ports, tn.name, c.name, COALESCE(h.name, '')`

const instanceFrom = ` FROM instances i JOIN tenants tn ON tn.id = i.tenant_id JOIN clusters c ON c.id = i.cluster_id
	LEFT JOIN hosts h ON h.id = i.host_id`

func scanInstance(s interface{ Scan(...any) error }) (store.Instance, error) {
	var i store.Instance
	var labels, constraints, spec, ports string
	var exit sql.NullInt64
	var started sql.NullInt64
	var created, updated int64
	err := s.Scan(&i.ID, &i.TenantID, &i.ClusterID, &i.Name, &i.Priority, &labels, &constraints, &i.Driver, &spec,
		&i.Resources.CPU, &i.Resources.MemoryMiB, &i.Resources.StorageMiB, &i.Resources.NetworkMbps, &i.Desired,
		&i.HostID, &i.Generation, &i.RestartSeq, &i.Status, &i.Restarts, &exit, &i.OOMKilled, &i.Message, &started,
		&created, &updated, &i.Zone, &i.Group, &i.GroupPolicy, &i.Image, &ports, &i.TenantName, &i.ClusterName, &i.HostName)
	if err != nil {
		return i, err
	}
	if exit.Valid {
		code := int(exit.Int64)
		i.ExitCode = &code
	}
	i.Spec = []byte(spec)
	i.StartedAt, i.CreatedAt, i.UpdatedAt = fromNullMicros(started), fromMicros(created), fromMicros(updated)
	if err := json.Unmarshal([]byte(labels), &i.Labels); err != nil {
		return i, fmt.Errorf("instance %s labels: %w", i.ID, err)
	}
	if i.Labels == nil {
		i.Labels = map[string]string{}
	}
	if err := json.Unmarshal([]byte(constraints), &i.Constraints); err != nil {
		return i, fmt.Errorf("instance %s constraints: %w", i.ID, err)
	}
	if err := json.Unmarshal([]byte(ports), &i.HostPorts); err != nil {
		return i, fmt.Errorf("instance %s host ports: %w", i.ID, err)
	}
	return i, nil
}

// jsonText encodes v for a TEXT column.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nullHost(id string) any {
	if id == "" {
		return nil
	}
	return id
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func (t *tx) CreateInstance(ctx context.Context, i *store.Instance) error {
	if taken, err := t.exists(ctx, "SELECT 1 FROM instances WHERE tenant_id = ? AND name = ?", i.TenantID, i.Name); err != nil {
		return wrap(err, "check instance name")
	} else if taken {
		return &store.ConflictError{Object: "instance", Field: "name", Value: i.Name}
	}
	fillID(&i.ID)
	if i.Labels == nil {
		i.Labels = map[string]string{}
	}
	if i.Constraints == nil {
		i.Constraints = []string{}
	}
	stamp(&i.CreatedAt)
	i.CreatedAt = fromMicros(i.CreatedAt.UnixMicro())
	i.UpdatedAt = i.CreatedAt
	_, err := t.exec(ctx, `INSERT INTO instances (id, tenant_id, cluster_id, name, priority, labels, constraints, driver, spec,
		cpu, memory_mib, disk_mib, network_mbps, desired, status, host_id, generation, restart_seq, restarts, exit_code,
		oom_killed, message, started_at, created_at, updated_at, zone, group_name, group_policy, image, host_ports)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		i.ID, i.TenantID, i.ClusterID, i.Name, i.Priority, jsonText(i.Labels), jsonText(i.Constraints), i.Driver,
		string(i.Spec), i.Resources.CPU, i.Resources.MemoryMiB, i.Resources.StorageMiB, i.Resources.NetworkMbps,
		i.Desired, i.Status, nullHost(i.HostID), i.Generation, i.RestartSeq, i.Restarts, nullInt(i.ExitCode),
		i.OOMKilled, i.Message, nullMicros(i.StartedAt), i.CreatedAt.UnixMicro(), i.UpdatedAt.UnixMicro(),
		i.Zone, i.Group, i.GroupPolicy, i.Image, jsonText(portList(i.HostPorts)))
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "tenant, cluster or host", Key: fmt.Sprintf("of instance %q", i.Name)}
	}
	if err != nil {
		return conflictOr(err, "instance", "name", i.Name)
	}
	return nil
}

func (t *tx) GetInstance(ctx context.Context, id string) (store.Instance, error) {
	i, err := scanInstance(t.queryRow(ctx, "SELECT "+instanceCols+instanceFrom+" WHERE i.id = ?"+t.lockRow("i"), id))
	return i, notFound(err, "instance", fmt.Sprintf("with id %q", id))
}

func (t *tx) GetInstanceByName(ctx context.Context, tenantID, name string) (store.Instance, error) {
	i, err := scanInstance(t.queryRow(ctx, "SELECT "+instanceCols+instanceFrom+" WHERE i.tenant_id = ? AND i.name = ?"+t.lockRow("i"), tenantID, name))
	return i, notFound(err, "instance", fmt.Sprintf("%q", name))
}

func (t *tx) ListInstances(ctx context.Context, f store.InstanceFilter) ([]store.Instance, string, error) {
	var c conds
	if f.TenantID != "" {
		c.add("i.tenant_id = ?", f.TenantID)
	}
	if f.TenantIDs != nil {
		c.in("i.tenant_id", f.TenantIDs)
	}
	if f.IDs != nil {
		c.in("i.id", f.IDs)
	}
	if f.ClusterID != "" {
		c.add("i.cluster_id = ?", f.ClusterID)
	}
	if f.HostID != "" {
		c.add("i.host_id = ?", f.HostID)
	}
	if f.Status != "" {
		c.add("i.status = ?", f.Status)
	}
	if f.Unplaced {
		c.add("i.host_id IS NULL AND i.desired = ?", store.DesiredRunning)
	}
	c.prefix("i.name", f.NamePrefix)
	var tenant, name string
	ok, err := decodeCursor(f.Token, "instances", &tenant, &name)
	if err != nil {
		return nil, "", err
	}
	if ok {
		c.add("(tn.name > ? OR (tn.name = ? AND i.name > ?))", tenant, tenant, name)
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+instanceCols+instanceFrom+c.where()+" ORDER BY tn.name, i.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list instances")
	}
	list, err := scanAll(rows, func() (store.Instance, error) { return scanInstance(rows) })
	if err != nil {
		return nil, "", wrap(err, "list instances")
	}
	list, next := pageOf(list, limit, "instances", func(i store.Instance) []any { return []any{i.TenantName, i.Name} })
	return list, next, nil
}

// portList returns ports, or an empty list for nil.
func portList(ports []int) []int {
	if ports == nil {
		return []int{}
	}
	return ports
}

func (t *tx) SetAssignRevision(ctx context.Context, ids []string, rev int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := append([]any{rev}, anySlice(ids)...)
	_, err := t.exec(ctx, "UPDATE instances SET assign_rev = ? WHERE id IN ("+placeholders(len(ids))+")", args...)
	return wrap(err, "set assignment revision")
}

func (t *tx) HostAssignments(ctx context.Context, hostID string, reports bool) ([]store.AssignmentRef, error) {
	cols := "id, generation, assign_rev"
	if reports {
		cols += ", status, restarts, exit_code, oom_killed, message, started_at"
	}
	rows, err := t.query(ctx, "SELECT "+cols+" FROM instances WHERE host_id = ? ORDER BY id", hostID)
	if err != nil {
		return nil, wrap(err, "list host assignments")
	}
	list, err := scanAll(rows, func() (store.AssignmentRef, error) {
		var r store.AssignmentRef
		var exit, started sql.NullInt64
		dest := []any{&r.ID, &r.Generation, &r.AssignRev}
		if reports {
			dest = append(dest, &r.Status, &r.Restarts, &exit, &r.OOMKilled, &r.Message, &started)
		}
		err := rows.Scan(dest...)
		if exit.Valid {
			code := int(exit.Int64)
			r.ExitCode = &code
		}
		r.StartedAt = fromNullMicros(started)
		return r, err
	})
	return list, wrap(err, "list host assignments")
}

func (t *tx) ListPlaced(ctx context.Context, f store.PlacedFilter) ([]store.Placed, error) {
	var c conds
	c.add("i.cluster_id = ?", f.ClusterID)
	c.add("i.host_id IS NOT NULL")
	if f.Group != "" {
		c.add("i.tenant_id = ? AND i.group_name = ?", f.TenantID, f.Group)
	}
	if f.WithPorts {
		c.add("i.host_ports <> '[]'")
	}
	if f.BelowPriority > 0 {
		c.add("i.priority < ?", f.BelowPriority)
	}
	rows, err := t.query(ctx, `SELECT i.id, i.host_id, i.tenant_id, i.priority, i.cpu, i.memory_mib, i.disk_mib, i.network_mbps,
		i.group_name, i.group_policy, i.host_ports FROM instances i`+c.where()+" ORDER BY i.id", c.args...)
	if err != nil {
		return nil, wrap(err, "list placed instances")
	}
	list, err := scanAll(rows, func() (store.Placed, error) {
		var p store.Placed
		var ports string
		err := rows.Scan(&p.ID, &p.HostID, &p.TenantID, &p.Priority, &p.Resources.CPU, &p.Resources.MemoryMiB,
			&p.Resources.StorageMiB, &p.Resources.NetworkMbps, &p.Group, &p.GroupPolicy, &ports)
		if err == nil {
			err = json.Unmarshal([]byte(ports), &p.HostPorts)
		}
		return p, err
	})
	return list, wrap(err, "list placed instances")
}

func (t *tx) UpdateInstance(ctx context.Context, i *store.Instance) error {
	i.UpdatedAt = now()
	n, err := t.execN(ctx, `UPDATE instances SET desired = ?, host_id = ?, generation = ?, restart_seq = ?, status = ?,
		restarts = ?, exit_code = ?, oom_killed = ?, message = ?, started_at = ?, updated_at = ? WHERE id = ?`,
		i.Desired, nullHost(i.HostID), i.Generation, i.RestartSeq, i.Status, i.Restarts, nullInt(i.ExitCode),
		i.OOMKilled, i.Message, nullMicros(i.StartedAt), i.UpdatedAt.UnixMicro(), i.ID)
	if err != nil {
		return wrap(err, "update instance")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "instance", Key: fmt.Sprintf("%q", i.Name)}
	}
	return nil
}

func (t *tx) DeleteInstance(ctx context.Context, id string) error {
	n, err := t.execN(ctx, "DELETE FROM instances WHERE id = ?", id)
	if err != nil {
		return wrap(err, "delete instance")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "instance", Key: fmt.Sprintf("with id %q", id)}
	}
	return nil
}

func (t *tx) AddInstanceEvents(ctx context.Context, events []store.InstanceEvent) error {
	rows := make([][]any, len(events))
	for n := range events {
		e := &events[n]
		fillID(&e.ID)
		stamp(&e.At)
		rows[n] = []any{e.ID, e.InstanceID, e.At.UnixMicro(), e.Type, e.Message, e.HostID}
	}
	return wrap(t.insertRows(ctx, "instance_events", "id, instance_id, at, type, message, host_id", rows, ""), "add instance events")
}

func (t *tx) ListInstanceEvents(ctx context.Context, instanceID string, p store.Page) ([]store.InstanceEvent, string, error) {
	var c conds
	c.add("e.instance_id = ?", instanceID)
	var at int64
	var id string
	ok, err := decodeCursor(p.Token, "instance_events", &at, &id)
	if err != nil {
		return nil, "", err
	}
	if ok {
		c.add("(e.at > ? OR (e.at = ? AND e.id > ?))", at, at, id)
	}
	limit := p.EffectiveLimit()
	rows, err := t.query(ctx, `SELECT e.id, e.instance_id, e.at, e.type, e.message, e.host_id, COALESCE(h.name, '')
		FROM instance_events e LEFT JOIN hosts h ON h.id = e.host_id`+c.where()+" ORDER BY e.at, e.id LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list instance events")
	}
	list, err := scanAll(rows, func() (store.InstanceEvent, error) {
		var e store.InstanceEvent
		var at int64
		err := rows.Scan(&e.ID, &e.InstanceID, &at, &e.Type, &e.Message, &e.HostID, &e.HostName)
		e.At = fromMicros(at)
		return e, err
	})
	if err != nil {
		return nil, "", wrap(err, "list instance events")
	}
	list, next := pageOf(list, limit, "instance_events", func(e store.InstanceEvent) []any { return []any{e.At.UnixMicro(), e.ID} })
	return list, next, nil
}
