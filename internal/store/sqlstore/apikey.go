package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const apiKeyCols = "k.id, k.app_key, k.secret_hash, k.user_id, k.tenant_id, k.permissions, k.description, k.created_at, k.expires_at, k.revoked_at"

// apiKeyRow scans apiKeyCols.
type apiKeyRow struct {
	k                store.APIKey
	perms            string
	created          int64
	expires, revoked sql.NullInt64
}

func (r *apiKeyRow) dest() []any {
	return []any{&r.k.ID, &r.k.AppKey, &r.k.SecretHash, &r.k.UserID, &r.k.TenantID, &r.perms, &r.k.Description,
		&r.created, &r.expires, &r.revoked}
}

func (r *apiKeyRow) key() (store.APIKey, error) {
	r.k.CreatedAt, r.k.ExpiresAt, r.k.RevokedAt = fromMicros(r.created), fromNullMicros(r.expires), fromNullMicros(r.revoked)
	if err := json.Unmarshal([]byte(r.perms), &r.k.Permissions); err != nil {
		return r.k, fmt.Errorf("decode permissions of api key %q: %w", r.k.AppKey, err)
	}
	return r.k, nil
}

func scanAPIKey(s interface{ Scan(...any) error }) (store.APIKey, error) {
	var r apiKeyRow
	if err := s.Scan(r.dest()...); err != nil {
		return store.APIKey{}, err
	}
	return r.key()
}

func (t *tx) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	fillID(&k.ID)
	stamp(&k.CreatedAt)
	if k.Permissions == nil {
		k.Permissions = []string{}
	}
	perms, err := json.Marshal(k.Permissions)
	if err != nil {
		return fmt.Errorf("encode permissions: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO api_keys (id, app_key, secret_hash, user_id, tenant_id, permissions, description,
		created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.AppKey, k.SecretHash, k.UserID, k.TenantID, string(perms), k.Description,
		k.CreatedAt.UnixMicro(), nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt))
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "user or tenant", Key: "of api key"}
	}
	if err != nil {
		return conflictOr(err, "api key", "app_key", k.AppKey)
	}
	k.ExpiresAt, k.RevokedAt = fromNullMicros(toNull(k.ExpiresAt)), fromNullMicros(toNull(k.RevokedAt))
	return nil
}

// toNull truncates a time like a round trip through a nullable column.
func toNull(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: !t.IsZero()}
}

func (t *tx) GetAPIKey(ctx context.Context, appKey string) (store.APIKey, error) {
	k, err := scanAPIKey(t.queryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys k WHERE k.app_key = ?", appKey))
	return k, notFound(err, "api key", fmt.Sprintf("%q", appKey))
}

func (t *tx) GetAPIKeyAuth(ctx context.Context, appKey string) (store.APIKeyAuth, error) {
	var kr apiKeyRow
	var ur userRow
	err := t.queryRow(ctx, "SELECT "+apiKeyCols+", "+userCols+` FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.app_key = ?`, appKey).Scan(append(kr.dest(), ur.dest()...)...)
	if err != nil {
		return store.APIKeyAuth{}, notFound(err, "api key", fmt.Sprintf("%q", appKey))
	}
	k, err := kr.key()
	return store.APIKeyAuth{Key: k, User: ur.user()}, err
}

func (t *tx) ListAPIKeys(ctx context.Context, f store.APIKeyFilter) ([]store.APIKey, string, error) {
	var c conds
	if f.TenantID != "" {
		c.add("k.tenant_id = ?", f.TenantID)
	}
	if f.UserID != "" {
		c.add("k.user_id = ?", f.UserID)
	}
	if err := c.afterName("k.app_key", f.Page, "apikeys"); err != nil {
		return nil, "", err
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+apiKeyCols+" FROM api_keys k"+c.where()+" ORDER BY k.app_key LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list api keys")
	}
	keys, err := scanAll(rows, func() (store.APIKey, error) { return scanAPIKey(rows) })
	if err != nil {
		return nil, "", wrap(err, "list api keys")
	}
	keys, next := pageOf(keys, limit, "apikeys", func(k store.APIKey) []any { return []any{k.AppKey} })
	return keys, next, nil
}

func (t *tx) RevokeAPIKey(ctx context.Context, appKey string, now time.Time) error {
	n, err := t.execN(ctx, "UPDATE api_keys SET revoked_at = ? WHERE app_key = ? AND revoked_at IS NULL", now.UnixMicro(), appKey)
	if err != nil {
		return wrap(err, "revoke api key")
	}
	if n == 0 {
		found, err := t.exists(ctx, "SELECT 1 FROM api_keys WHERE app_key = ?", appKey)
		if err != nil {
			return wrap(err, "revoke api key")
		}
		if !found {
			return &store.NotFoundError{Object: "api key", Key: fmt.Sprintf("%q", appKey)}
		}
	}
	return nil
}
