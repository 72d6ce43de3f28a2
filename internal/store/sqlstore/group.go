package sqlstore

import (
	"context"
	"fmt"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const groupCols = "g.id, g.name, g.description, g.created_at, g.updated_at"

func scanGroup(s interface{ Scan(...any) error }) (store.Group, error) {
	var g store.Group
	var created, updated int64
	err := s.Scan(&g.ID, &g.Name, &g.Description, &created, &updated)
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	return g, err
}

func (t *tx) CreateGroup(ctx context.Context, g *store.Group) error {
	if taken, err := t.exists(ctx, "SELECT 1 FROM user_groups WHERE name = ?", g.Name); err != nil {
		return wrap(err, "check group name")
	} else if taken {
		return &store.ConflictError{Object: "group", Field: "name", Value: g.Name}
	}
	fillID(&g.ID)
	stamp(&g.CreatedAt)
	if g.UpdatedAt.IsZero() {
		g.UpdatedAt = g.CreatedAt
	}
	stamp(&g.UpdatedAt)
	_, err := t.exec(ctx, "INSERT INTO user_groups (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		g.ID, g.Name, g.Description, g.CreatedAt.UnixMicro(), g.UpdatedAt.UnixMicro())
	if err != nil {
		return conflictOr(err, "group", "name", g.Name)
	}
	return nil
}

func (t *tx) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := scanGroup(t.queryRow(ctx, "SELECT "+groupCols+" FROM user_groups g WHERE g.id = ?"+t.lockRow("g"), id))
	return g, notFound(err, "group", fmt.Sprintf("with id %q", id))
}

func (t *tx) GetGroupByName(ctx context.Context, name string) (store.Group, error) {
	g, err := scanGroup(t.queryRow(ctx, "SELECT "+groupCols+" FROM user_groups g WHERE g.name = ?"+t.lockRow("g"), name))
	return g, notFound(err, "group", fmt.Sprintf("%q", name))
}

func (t *tx) ListGroups(ctx context.Context, f store.GroupFilter) ([]store.Group, string, error) {
	var c conds
	if f.MemberUserID != "" {
		c.add("g.id IN (SELECT group_id FROM group_members WHERE user_id = ?)", f.MemberUserID)
	}
	c.prefix("g.name", f.NamePrefix)
	if err := c.afterName("g.name", f.Page, "groups"); err != nil {
		return nil, "", err
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+groupCols+" FROM user_groups g"+c.where()+" ORDER BY g.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list groups")
	}
	groups, err := scanAll(rows, func() (store.Group, error) { return scanGroup(rows) })
	if err != nil {
		return nil, "", wrap(err, "list groups")
	}
	groups, next := pageOf(groups, limit, "groups", func(g store.Group) []any { return []any{g.Name} })
	return groups, next, nil
}

func (t *tx) UpdateGroup(ctx context.Context, g *store.Group) error {
	g.UpdatedAt = now()
	n, err := t.execN(ctx, "UPDATE user_groups SET description = ?, updated_at = ? WHERE id = ?",
		g.Description, g.UpdatedAt.UnixMicro(), g.ID)
	if err != nil {
		return wrap(err, "update group")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "group", Key: fmt.Sprintf("%q", g.Name)}
	}
	return nil
}

func (t *tx) DeleteGroup(ctx context.Context, id string) error {
	n, err := t.execN(ctx, "DELETE FROM user_groups WHERE id = ?", id)
	if err != nil {
		return wrap(err, "delete group")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "group", Key: fmt.Sprintf("with id %q", id)}
	}
	return nil
}

func (t *tx) AddGroupMember(ctx context.Context, groupID, userID string) error {
	_, err := t.exec(ctx, `INSERT INTO group_members (group_id, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, now().UnixMicro())
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "group or user", Key: fmt.Sprintf("with ids %q, %q", groupID, userID)}
	}
	return wrap(err, "add group member")
}

func (t *tx) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	n, err := t.execN(ctx, "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", groupID, userID)
	if err != nil {
		return wrap(err, "remove group member")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "group member", Key: fmt.Sprintf("with user id %q", userID)}
	}
	return nil
}

func (t *tx) ListGroupMembers(ctx context.Context, groupID string) ([]store.User, error) {
	rows, err := t.query(ctx, "SELECT "+userCols+` FROM users u JOIN group_members gm ON gm.user_id = u.id
		WHERE gm.group_id = ? ORDER BY u.name`, groupID)
	if err != nil {
		return nil, wrap(err, "list group members")
	}
	users, err := scanAll(rows, func() (store.User, error) { return scanUser(rows) })
	return users, wrap(err, "list group members")
}
