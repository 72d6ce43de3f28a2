package store

import (
	"context"
	"time"
)

// Token is a login session. Only the SHA-256 of the opaque token is stored.
type Token struct {
	ID        string
	UserID    string
	TokenHash string // hex SHA-256 of the opaque token; unique
	CreatedAt time.Time
	ExpiresAt time.Time
	SourceIP  string
	UserAgent string
}

// TokenAuth is a live token with its user, as needed to authenticate a request.
type TokenAuth struct {
	Token Token
	User  User
}

// TokenTx reads and writes session tokens.
type TokenTx interface {
	// CreateToken inserts t; ID and CreatedAt are filled in when empty.
	CreateToken(ctx context.Context, t *Token) error
	// GetTokenAuth returns the token with this hash and its user in one
	// query; ErrNotFound when missing or expired at now.
	GetTokenAuth(ctx context.Context, tokenHash string, now time.Time) (TokenAuth, error)
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns the user's tokens not expired at now, newest first.
	ListTokens(ctx context.Context, userID string, now time.Time) ([]Token, error)
	// DeleteToken deletes one token; ErrNotFound when missing.
	DeleteToken(ctx context.Context, id string) error
	// DeleteUserTokens deletes all tokens of a user except exceptID (may be
	// empty) and returns how many it deleted.
	DeleteUserTokens(ctx context.Context, userID, exceptID string) (int64, error)
	// DeleteExpiredTokens deletes tokens expired at now and returns how many.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)
	// AuthEpoch returns the counter that BumpAuthEpoch raises.
	AuthEpoch(ctx context.Context) (int64, error)
	// BumpAuthEpoch raises the counter, telling every server that access
	// resolved from credentials before this transaction may be stale.
	BumpAuthEpoch(ctx context.Context) error
}
