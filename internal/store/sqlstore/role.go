package sqlstore

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// roleTable returns the table and subject column of a subject kind.
func roleTable(kind string) (table, col string, err error) {
	switch kind {
	case store.SubjectUser:
		return "user_roles", "user_id", nil
	case store.SubjectGroup:
		return "group_roles", "group_id", nil
	}
	return "", "", fmt.Errorf("unknown role subject kind %q", kind)
}

func (t *tx) SetRole(ctx context.Context, a store.RoleAssignment) error {
	return t.SetRoles(ctx, []store.RoleAssignment{a})
}

func (t *tx) SetRoles(ctx context.Context, as []store.RoleAssignment) error {
	// One statement may not touch a row twice on PostgreSQL: keep the last
	// assignment per subject and tenant.
	type key struct{ kind, tenant, subject string }
	last := make(map[key]int, len(as))
	for i, a := range as {
		if store.RoleRank(a.Role) == 0 {
			return fmt.Errorf("set role: unknown role %q", a.Role)
		}
		last[key{a.SubjectKind, a.TenantID, a.SubjectID}] = i
	}
	byTable := map[string][][]any{}
	for i, a := range as {
		if last[key{a.SubjectKind, a.TenantID, a.SubjectID}] != i {
			continue
		}
		table, _, err := roleTable(a.SubjectKind)
		if err != nil {
			return err
		}
		stamp(&as[i].CreatedAt)
		byTable[table] = append(byTable[table], []any{a.TenantID, a.SubjectID, a.Role, as[i].CreatedAt.UnixMicro()})
	}
	for _, kind := range []string{store.SubjectUser, store.SubjectGroup} {
		table, col, _ := roleTable(kind)
		err := t.insertRows(ctx, table, "tenant_id, "+col+", role, created_at", byTable[table],
			" ON CONFLICT (tenant_id, "+col+") DO UPDATE SET role = excluded.role")
		if isForeignKey(err) {
			return &store.NotFoundError{Object: "tenant or " + kind, Key: "of role assignment"}
		}
		if err != nil {
			return wrap(err, "set roles")
		}
	}
	return nil
}

func (t *tx) RemoveRole(ctx context.Context, tenantID, subjectKind, subjectID string) error {
	table, col, err := roleTable(subjectKind)
	if err != nil {
		return err
	}
	n, err := t.execN(ctx, "DELETE FROM "+table+" WHERE tenant_id = ? AND "+col+" = ?", tenantID, subjectID)
	if err != nil {
		return wrap(err, "remove role")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "role of " + subjectKind, Key: fmt.Sprintf("with id %q", subjectID)}
	}
	return nil
}

// membersQuery lists a tenant's direct user and group roles and the users
// holding a role via a group; it takes the tenant ID three times.
const membersQuery = `SELECT m.kind, m.id, m.name, m.role, m.via FROM (
	SELECT 'user' AS kind, u.id AS id, u.name AS name, ur.role AS role, '' AS via
		FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE ur.tenant_id = ?
	UNION ALL
	SELECT 'group', g.id, g.name, gr.role, ''
		FROM group_roles gr JOIN user_groups g ON g.id = gr.group_id WHERE gr.tenant_id = ?
	UNION ALL
	SELECT 'user', u.id, u.name, gr.role, g.name
		FROM group_roles gr JOIN user_groups g ON g.id = gr.group_id
		JOIN group_members gm ON gm.group_id = g.id JOIN users u ON u.id = gm.user_id
		WHERE gr.tenant_id = ?
) m`

func (t *tx) ListMembers(ctx context.Context, f store.MemberFilter) ([]store.Member, string, error) {
	var c conds
	var name, kind, via string
	ok, err := decodeCursor(f.Token, "members", &name, &kind, &via)
	if err != nil {
		return nil, "", err
	}
	if ok {
		c.add("(m.name, m.kind, m.via) > (?, ?, ?)", name, kind, via)
	}
	limit := f.EffectiveLimit()
	args := append([]any{f.TenantID, f.TenantID, f.TenantID}, c.args...)
	rows, err := t.query(ctx, membersQuery+c.where()+" ORDER BY m.name, m.kind, m.via LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list members")
	}
	members, err := scanAll(rows, func() (store.Member, error) {
		var m store.Member
		return m, rows.Scan(&m.Kind, &m.ID, &m.Name, &m.Role, &m.ViaGroup)
	})
	if err != nil {
		return nil, "", wrap(err, "list members")
	}
	members, next := pageOf(members, limit, "members", func(m store.Member) []any { return []any{m.Name, m.Kind, m.ViaGroup} })
	return members, next, nil
}

func (t *tx) EffectiveRoles(ctx context.Context, userID string) (map[string]string, error) {
	rows, err := t.query(ctx, `SELECT tenant_id, role FROM user_roles WHERE user_id = ?
		UNION ALL SELECT gr.tenant_id, gr.role FROM group_roles gr
		JOIN group_members gm ON gm.group_id = gr.group_id WHERE gm.user_id = ?`, userID, userID)
	if err != nil {
		return nil, wrap(err, "effective roles")
	}
	defer rows.Close()
	roles := map[string]string{}
	for rows.Next() {
		var tenant, role string
		if err := rows.Scan(&tenant, &role); err != nil {
			return nil, wrap(err, "effective roles")
		}
		if store.RoleRank(role) > store.RoleRank(roles[tenant]) {
			roles[tenant] = role
		}
	}
	return roles, wrap(rows.Err(), "effective roles")
}
