package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const tokenCols = "tk.id, tk.user_id, tk.token_hash, tk.created_at, tk.expires_at, tk.source_ip, tk.user_agent"

// tokenRow scans tokenCols.
type tokenRow struct {
	tk               store.Token
	created, expires int64
}

func (r *tokenRow) dest() []any {
	return []any{&r.tk.ID, &r.tk.UserID, &r.tk.TokenHash, &r.created, &r.expires, &r.tk.SourceIP, &r.tk.UserAgent}
}

func (r *tokenRow) token() store.Token {
	r.tk.CreatedAt, r.tk.ExpiresAt = fromMicros(r.created), fromMicros(r.expires)
	return r.tk
}

func scanToken(s interface{ Scan(...any) error }) (store.Token, error) {
	var r tokenRow
	err := s.Scan(r.dest()...)
	return r.token(), err
}

func (t *tx) CreateToken(ctx context.Context, tk *store.Token) error {
	fillID(&tk.ID)
	stamp(&tk.CreatedAt)
	tk.ExpiresAt = fromMicros(tk.ExpiresAt.UnixMicro())
	_, err := t.exec(ctx, `INSERT INTO tokens (id, user_id, token_hash, created_at, expires_at, source_ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, tk.ID, tk.UserID, tk.TokenHash, tk.CreatedAt.UnixMicro(),
		tk.ExpiresAt.UnixMicro(), tk.SourceIP, tk.UserAgent)
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "user", Key: fmt.Sprintf("with id %q", tk.UserID)}
	}
	if err != nil {
		return conflictOr(err, "token", "token_hash", "(hidden)")
	}
	return nil
}

func (t *tx) GetTokenAuth(ctx context.Context, tokenHash string, now time.Time) (store.TokenAuth, error) {
	var tr tokenRow
	var ur userRow
	err := t.queryRow(ctx, "SELECT "+tokenCols+", "+userCols+` FROM tokens tk JOIN users u ON u.id = tk.user_id
		WHERE tk.token_hash = ? AND tk.expires_at > ?`, tokenHash, now.UnixMicro()).
		Scan(append(tr.dest(), ur.dest()...)...)
	if err != nil {
		return store.TokenAuth{}, notFound(err, "token", "with this hash")
	}
	return store.TokenAuth{Token: tr.token(), User: ur.user()}, nil
}

func (t *tx) GetToken(ctx context.Context, id string) (store.Token, error) {
	tk, err := scanToken(t.queryRow(ctx, "SELECT "+tokenCols+" FROM tokens tk WHERE tk.id = ?", id))
	return tk, notFound(err, "token", fmt.Sprintf("with id %q", id))
}

func (t *tx) ListTokens(ctx context.Context, userID string, now time.Time) ([]store.Token, error) {
	rows, err := t.query(ctx, "SELECT "+tokenCols+` FROM tokens tk WHERE tk.user_id = ? AND tk.expires_at > ?
		ORDER BY tk.created_at DESC, tk.id DESC`, userID, now.UnixMicro())
	if err != nil {
		return nil, wrap(err, "list tokens")
	}
	tokens, err := scanAll(rows, func() (store.Token, error) { return scanToken(rows) })
	return tokens, wrap(err, "list tokens")
}

func (t *tx) DeleteToken(ctx context.Context, id string) error {
	n, err := t.execN(ctx, "DELETE FROM tokens WHERE id = ?", id)
	if err != nil {
		return wrap(err, "delete token")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "token", Key: fmt.Sprintf("with id %q", id)}
	}
	return nil
}

func (t *tx) DeleteUserTokens(ctx context.Context, userID, exceptID string) (int64, error) {
	n, err := t.execN(ctx, "DELETE FROM tokens WHERE user_id = ? AND id <> ?", userID, exceptID)
	return n, wrap(err, "delete user tokens")
}

func (t *tx) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	n, err := t.execN(ctx, "DELETE FROM tokens WHERE expires_at <= ?", now.UnixMicro())
	return n, wrap(err, "delete expired tokens")
}

func (t *tx) AuthEpoch(ctx context.Context) (int64, error) {
	var epoch int64
	err := t.queryRow(ctx, "SELECT epoch FROM auth_epoch WHERE id = 1").Scan(&epoch)
	return epoch, wrap(err, "read auth epoch")
}

func (t *tx) BumpAuthEpoch(ctx context.Context) error {
	_, err := t.exec(ctx, "UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1")
	return wrap(err, "bump auth epoch")
}
