package store

import (
	"context"
	"time"
)

// APIKey lets a program act for its creator in one tenant with a subset of
// the creator's permissions.
type APIKey struct {
	ID          string
	AppKey      string // public id, unique
	SecretHash  string // hex SHA-256 of the app secret
	UserID      string // creator
	TenantID    string // scope
	Permissions []string
	Description string
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	RevokedAt   time.Time // zero: not revoked
}

// Usable reports whether the key is neither revoked nor expired at now.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// APIKeyAuth is an API key with its creator, as needed to authenticate a request.
type APIKeyAuth struct {
	Key  APIKey
	User User
}

// APIKeyFilter selects keys for [APIKeyTx.ListAPIKeys]; sorted by app key.
type APIKeyFilter struct {
	TenantID string
	UserID   string
	Page
}

// APIKeyTx reads and writes API keys.
type APIKeyTx interface {
	// CreateAPIKey inserts k; ID and CreatedAt are filled in when empty.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	GetAPIKey(ctx context.Context, appKey string) (APIKey, error)
	// GetAPIKeyAuth returns the key and its creator in one query, revoked
	// and expired keys included (check [APIKey.Usable]).
	GetAPIKeyAuth(ctx context.Context, appKey string) (APIKeyAuth, error)
	ListAPIKeys(ctx context.Context, f APIKeyFilter) (keys []APIKey, next string, err error)
	// RevokeAPIKey sets RevokedAt to now unless already revoked.
	RevokeAPIKey(ctx context.Context, appKey string, now time.Time) error
}
