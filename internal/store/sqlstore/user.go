package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const userCols = "u.id, u.name, u.email, u.display_name, u.enabled, u.platform_admin, u.password_hash, u.created_at, u.updated_at"

// userRow scans userCols.
type userRow struct {
	u                store.User
	created, updated int64
}

func (r *userRow) dest() []any {
	return []any{&r.u.ID, &r.u.Name, &r.u.Email, &r.u.DisplayName, &r.u.Enabled, &r.u.PlatformAdmin,
		&r.u.PasswordHash, &r.created, &r.updated}
}

func (r *userRow) user() store.User {
	r.u.CreatedAt, r.u.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	return r.u
}

func scanUser(s interface{ Scan(...any) error }) (store.User, error) {
	var r userRow
	err := s.Scan(r.dest()...)
	return r.user(), err
}

// prepareUser fills in the ID and times of a new user.
func prepareUser(u *store.User) {
	fillID(&u.ID)
	stamp(&u.CreatedAt)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	stamp(&u.UpdatedAt)
}

// personalRows returns the user, personal tenant and admin role rows of u.
func personalRows(u *store.User) (user, tenant, role []any) {
	user = []any{u.ID, u.Name, u.Email, u.DisplayName, u.Enabled, u.PlatformAdmin, u.PasswordHash,
		u.CreatedAt.UnixMicro(), u.UpdatedAt.UnixMicro()}
	tenantID := newID()
	tenant = []any{tenantID, u.Name, store.TenantPersonal, u.ID, u.CreatedAt.UnixMicro(), u.UpdatedAt.UnixMicro()}
	role = []any{tenantID, u.ID, store.RoleAdmin, u.CreatedAt.UnixMicro()}
	return user, tenant, role
}

const (
	insertUserCols   = "id, name, email, display_name, enabled, platform_admin, password_hash, created_at, updated_at"
	insertTenantCols = "id, name, kind, owner_user_id, created_at, updated_at"
	insertRoleCols   = "tenant_id, user_id, role, created_at"
)

func (t *tx) CreateUser(ctx context.Context, u *store.User) error {
	taken, err := t.takenNames(ctx, []string{u.Name})
	if err != nil {
		return err
	}
	if len(taken) > 0 {
		object := "tenant"
		if isUser, err := t.exists(ctx, "SELECT 1 FROM users WHERE name = ?", u.Name); err != nil {
			return err
		} else if isUser {
			object = "user"
		}
		return &store.ConflictError{Object: object, Field: "name", Value: u.Name}
	}
	prepareUser(u)
	user, tenant, role := personalRows(u)
	if err := t.insertRows(ctx, "users", insertUserCols, [][]any{user}, ""); err != nil {
		return conflictOr(err, "user", "name", u.Name)
	}
	if err := t.insertRows(ctx, "tenants", insertTenantCols, [][]any{tenant}, ""); err != nil {
		return conflictOr(err, "user", "name", u.Name)
	}
	if err := t.insertRows(ctx, "user_roles", insertRoleCols, [][]any{role}, ""); err != nil {
		return wrap(err, "insert personal role")
	}
	return nil
}

func (t *tx) CreateUsers(ctx context.Context, users []store.User) error {
	names := make([]string, len(users))
	seen := make(map[string]bool, len(users))
	var dup []string
	for i, u := range users {
		names[i] = u.Name
		if seen[u.Name] {
			dup = append(dup, u.Name)
		}
		seen[u.Name] = true
	}
	taken, err := t.takenNames(ctx, names)
	if err != nil {
		return err
	}
	if conflicts := append(taken, dup...); len(conflicts) > 0 {
		slices.Sort(conflicts)
		return &store.BatchConflictError{Names: slices.Compact(conflicts)}
	}
	userRows := make([][]any, len(users))
	tenantRows := make([][]any, len(users))
	roleRows := make([][]any, len(users))
	for i := range users {
		prepareUser(&users[i])
		userRows[i], tenantRows[i], roleRows[i] = personalRows(&users[i])
	}
	if err := t.insertRows(ctx, "users", insertUserCols, userRows, ""); err != nil {
		return raced(err, "insert users")
	}
	if err := t.insertRows(ctx, "tenants", insertTenantCols, tenantRows, ""); err != nil {
		return raced(err, "insert personal tenants")
	}
	if err := t.insertRows(ctx, "user_roles", insertRoleCols, roleRows, ""); err != nil {
		return wrap(err, "insert personal roles")
	}
	return nil
}

// raced turns a unique violation after the names were checked into
// errRaced, so that Write runs the batch again and reports the conflict.
func raced(err error, what string) error {
	if isUnique(err) {
		return fmt.Errorf("%s: %w", what, errRaced)
	}
	return wrap(err, what)
}

// nameChunk bounds the names looked up in one query.
const nameChunk = 500

// takenNames returns the names already used by a user or a tenant.
func (t *tx) takenNames(ctx context.Context, names []string) ([]string, error) {
	var taken []string
	for chunk := range slices.Chunk(names, nameChunk) {
		in := placeholders(len(chunk))
		rows, err := t.query(ctx, "SELECT name FROM users WHERE name IN ("+in+") UNION SELECT name FROM tenants WHERE name IN ("+in+")",
			append(anySlice(chunk), anySlice(chunk)...)...)
		if err != nil {
			return nil, wrap(err, "check names")
		}
		got, err := scanAll(rows, func() (string, error) {
			var s string
			return s, rows.Scan(&s)
		})
		if err != nil {
			return nil, wrap(err, "check names")
		}
		taken = append(taken, got...)
	}
	return taken, nil
}

func (t *tx) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userCols+" FROM users u WHERE u.id = ?"+t.lockRow("u"), id))
	return u, notFound(err, "user", fmt.Sprintf("with id %q", id))
}

func (t *tx) GetUserByName(ctx context.Context, name string) (store.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userCols+" FROM users u WHERE u.name = ?"+t.lockRow("u"), name))
	return u, notFound(err, "user", fmt.Sprintf("%q", name))
}

// tenantUserIDs selects the IDs of users holding a role in tenant ?
// (twice), directly or via a group.
const tenantUserIDs = `SELECT user_id FROM user_roles WHERE tenant_id = ?
	UNION SELECT gm.user_id FROM group_roles gr JOIN group_members gm ON gm.group_id = gr.group_id WHERE gr.tenant_id = ?`

func (t *tx) ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, string, error) {
	var c conds
	if f.TenantID != "" {
		c.add("u.id IN ("+tenantUserIDs+")", f.TenantID, f.TenantID)
	}
	if f.Enabled != nil {
		c.add("u.enabled = ?", *f.Enabled)
	}
	c.prefix("u.name", f.NamePrefix)
	if err := c.afterName("u.name", f.Page, "users"); err != nil {
		return nil, "", err
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+userCols+" FROM users u"+c.where()+" ORDER BY u.name LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list users")
	}
	users, err := scanAll(rows, func() (store.User, error) { return scanUser(rows) })
	if err != nil {
		return nil, "", wrap(err, "list users")
	}
	users, next := pageOf(users, limit, "users", func(u store.User) []any { return []any{u.Name} })
	return users, next, nil
}

func (t *tx) UpdateUser(ctx context.Context, u *store.User) error {
	u.UpdatedAt = now()
	n, err := t.execN(ctx, `UPDATE users SET email = ?, display_name = ?, enabled = ?, platform_admin = ?,
		password_hash = ?, updated_at = ? WHERE id = ?`,
		u.Email, u.DisplayName, u.Enabled, u.PlatformAdmin, u.PasswordHash, u.UpdatedAt.UnixMicro(), u.ID)
	if err != nil {
		return wrap(err, "update user")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "user", Key: fmt.Sprintf("%q", u.Name)}
	}
	return nil
}

func (t *tx) DeleteUser(ctx context.Context, id string) error {
	u, err := t.GetUser(ctx, id)
	if err != nil {
		return err
	}
	var tenantID string
	err = t.queryRow(ctx, "SELECT id FROM tenants WHERE owner_user_id = ? AND kind = ?", id, store.TenantPersonal).Scan(&tenantID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return wrap(err, "find personal tenant")
	default:
		if reason, err := t.tenantInUse(ctx, tenantID); err != nil {
			return err
		} else if reason != "" {
			return &store.InUseError{Object: fmt.Sprintf("user %q", u.Name), Reason: "personal tenant " + reason}
		}
		if _, err := t.exec(ctx, "DELETE FROM tenants WHERE id = ?", tenantID); err != nil {
			return wrap(err, "delete personal tenant")
		}
	}
	if _, err := t.exec(ctx, "DELETE FROM users WHERE id = ?", id); err != nil {
		return wrap(err, "delete user")
	}
	return nil
}
