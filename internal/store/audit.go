package store

import (
	"context"
	"time"
)

// Audit results.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// AuditRecord is one audited action.
type AuditRecord struct {
	ID          string
	Time        time.Time
	ActorUserID string
	ActorName   string
	APIKey      string // app key when the actor authenticated with one
	TenantID    string // empty for platform-level actions
	TenantName  string
	Action      string // e.g. "user.create"
	ObjectType  string
	ObjectName  string
	Result      string // AuditSuccess or AuditFailure
	ErrorCode   string
	RequestID   string
	SourceIP    string
}

// AuditFilter selects records for [AuditTx.ListAudit]; zero fields match all.
type AuditFilter struct {
	// TenantIDs keeps records of these tenants when non-nil; an empty
	// non-nil slice matches nothing.
	TenantIDs []string
	Actor     string // actor name
	// Action matches exactly, or as a prefix when it ends with "." or "*"
	// ("user." and "user*" match "user.create").
	Action     string
	ObjectType string
	ObjectName string
	Result     string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	Page                 // newest first
}

// AuditTx writes and queries the audit log.
type AuditTx interface {
	// InsertAudit inserts r; ID and Time are filled in when empty.
	InsertAudit(ctx context.Context, r *AuditRecord) error
	ListAudit(ctx context.Context, f AuditFilter) (records []AuditRecord, next string, err error)
}
