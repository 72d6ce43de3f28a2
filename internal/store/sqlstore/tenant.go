package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// tenantCols selects a tenant t with its computed user count.
const tenantCols = `t.id, t.name, t.kind, t.description, t.admin_email, COALESCE(t.owner_user_id, ''),
	t.created_at, t.updated_at,
	(SELECT COUNT(*) FROM (SELECT ur.user_id FROM user_roles ur WHERE ur.tenant_id = t.id
		UNION SELECT gm.user_id FROM group_roles gr JOIN group_members gm ON gm.group_id = gr.group_id
		WHERE gr.tenant_id = t.id) tu)`

func scanTenant(s interface{ Scan(...any) error }) (store.Tenant, error) {
	var tn store.Tenant
	var created, updated int64
	err := s.Scan(&tn.ID, &tn.Name, &tn.Kind, &tn.Description, &tn.AdminEmail, &tn.OwnerUserID,
		&created, &updated, &tn.UserCount)
	tn.CreatedAt, tn.UpdatedAt = fromMicros(created), fromMicros(updated)
	return tn, err
}

func (t *tx) CreateTenant(ctx context.Context, tn *store.Tenant) error {
	if taken, err := t.exists(ctx, "SELECT 1 FROM tenants WHERE name = ?", tn.Name); err != nil {
		return wrap(err, "check tenant name")
	} else if taken {
		return &store.ConflictError{Object: "tenant", Field: "name", Value: tn.Name}
	}
	fillID(&tn.ID)
	if tn.Kind == "" {
		tn.Kind = store.TenantGroup
	}
	stamp(&tn.CreatedAt)
	if tn.UpdatedAt.IsZero() {
		tn.UpdatedAt = tn.CreatedAt
	}
	stamp(&tn.UpdatedAt)
	_, err := t.exec(ctx, `INSERT INTO tenants (id, name, kind, description, admin_email, owner_user_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tn.ID, tn.Name, tn.Kind, tn.Description, tn.AdminEmail,
		nullString(tn.OwnerUserID), tn.CreatedAt.UnixMicro(), tn.UpdatedAt.UnixMicro())
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "user", Key: fmt.Sprintf("with id %q", tn.OwnerUserID)}
	}
	if err != nil {
		return conflictOr(err, "tenant", "name", tn.Name)
	}
	return nil
}

func (t *tx) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	tn, err := scanTenant(t.queryRow(ctx, "SELECT "+tenantCols+" FROM tenants t WHERE t.id = ?"+t.lockRow("t"), id))
	return tn, notFound(err, "tenant", fmt.Sprintf("with id %q", id))
}

func (t *tx) GetTenantByName(ctx context.Context, name string) (store.Tenant, error) {
	tn, err := scanTenant(t.queryRow(ctx, "SELECT "+tenantCols+" FROM tenants t WHERE t.name = ?"+t.lockRow("t"), name))
	return tn, notFound(err, "tenant", fmt.Sprintf("%q", name))
}

// userTenantIDs selects the IDs of tenants where user ? (twice) holds a
// role, directly or via a group.
const userTenantIDs = `SELECT tenant_id FROM user_roles WHERE user_id = ?
	UNION SELECT gr.tenant_id FROM group_roles gr JOIN group_members gm ON gm.group_id = gr.group_id WHERE gm.user_id = ?`

func (t *tx) ListTenants(ctx context.Context, f store.TenantFilter) ([]store.Tenant, string, error) {
	var c conds
	if f.Kind != "" {
		c.add("t.kind = ?", f.Kind)
	}
	if f.MemberUserID != "" {
		c.add("t.id IN ("+userTenantIDs+")", f.MemberUserID, f.MemberUserID)
	}
	c.prefix("t.name", f.NamePrefix)
	if err := c.afterName("t.name", f.Page, "tenants"); err != nil {
		return nil, "", err
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+tenantCols+" FROM tenants t"+c.where()+" ORDER BY t.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list tenants")
	}
	tenants, err := scanAll(rows, func() (store.Tenant, error) { return scanTenant(rows) })
	if err != nil {
		return nil, "", wrap(err, "list tenants")
	}
	tenants, next := pageOf(tenants, limit, "tenants", func(tn store.Tenant) []any { return []any{tn.Name} })
	return tenants, next, nil
}

func (t *tx) UpdateTenant(ctx context.Context, tn *store.Tenant) error {
	tn.UpdatedAt = now()
	n, err := t.execN(ctx, "UPDATE tenants SET description = ?, admin_email = ?, updated_at = ? WHERE id = ?",
		tn.Description, tn.AdminEmail, tn.UpdatedAt.UnixMicro(), tn.ID)
	if err != nil {
		return wrap(err, "update tenant")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "tenant", Key: fmt.Sprintf("%q", tn.Name)}
	}
	return nil
}

func (t *tx) DeleteTenant(ctx context.Context, id string) error {
	tn, err := t.GetTenant(ctx, id)
	if err != nil {
		return err
	}
	reason, err := t.tenantInUse(ctx, id)
	if err != nil {
		return err
	}
	if reason != "" {
		return &store.InUseError{Object: fmt.Sprintf("tenant %q", tn.Name), Reason: reason}
	}
	if _, err := t.exec(ctx, "DELETE FROM tenants WHERE id = ?", id); err != nil {
		return wrap(err, "delete tenant")
	}
	return nil
}

// tenantInUse explains why a tenant may not be deleted: it owns a cluster
// or one of its quota tiers has usage. It returns "" when it may.
func (t *tx) tenantInUse(ctx context.Context, tenantID string) (string, error) {
	var cluster string
	err := t.queryRow(ctx, "SELECT name FROM clusters WHERE owner_tenant_id = ? ORDER BY name LIMIT 1", tenantID).Scan(&cluster)
	switch {
	case err == nil:
		return fmt.Sprintf("owns cluster %q", cluster), nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", wrap(err, "check tenant clusters")
	}
	var priority int
	err = t.queryRow(ctx, `SELECT c.name, qt.priority FROM quotas q
		JOIN quota_tiers qt ON qt.quota_id = q.id JOIN clusters c ON c.id = q.cluster_id
		WHERE q.tenant_id = ? AND (`+tierUsed("qt")+`) ORDER BY c.name, qt.priority LIMIT 1`, tenantID).Scan(&cluster, &priority)
	switch {
	case err == nil:
		return fmt.Sprintf("quota tier %d on cluster %q has usage", priority, cluster), nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", wrap(err, "check tenant quota usage")
	}
	return "", nil
}
