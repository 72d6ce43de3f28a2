package server

import (
	"context"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// change describes a mutation for the audit log. Handlers fill in what they
// learn inside the transaction (the tenant, the object's final name).
type change struct {
	action     string // e.g. "user.create"
	objectType string
	objectName string
	tenantID   string
	tenantName string
	// actorName names the actor when there is no authenticated caller (login).
	actorName string
	// altersAccess marks a change that can alter access although its
	// action is not one of changesAccess (e.g. a user update that disables).
	altersAccess bool
}

// mutate runs fn in one transaction and records c in the audit log in that
// same transaction, so no mutation is ever left unrecorded. Changes that
// can alter access also raise the auth epoch there (see credCache). When fn fails,
// the failure is recorded on its own and fn's error returned.
func (s *Server) mutate(ctx context.Context, c *change, fn func(tx store.Tx) error) error {
	err := s.store.Write(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if changesAccess[c.action] || c.altersAccess {
			if err := tx.BumpAuthEpoch(ctx); err != nil {
				return err
			}
		}
		rec := s.auditRecord(ctx, c, store.AuditSuccess, "")
		return tx.InsertAudit(ctx, &rec)
	})
	if err != nil {
		s.auditFailure(ctx, c, err)
	}
	return err
}

// auditFailure records a failed mutation. A failure to record it is logged,
// never returned: the caller's own error matters more.
func (s *Server) auditFailure(ctx context.Context, c *change, cause error) {
	rec := s.auditRecord(ctx, c, store.AuditFailure, s.toProblem(ctx, cause).Code)
	if err := s.store.Write(context.WithoutCancel(ctx), func(tx store.Tx) error {
		return tx.InsertAudit(ctx, &rec)
	}); err != nil {
		s.log.ErrorContext(ctx, "record audit failure", "action", c.action, "err", err)
	}
}

func (s *Server) auditRecord(ctx context.Context, c *change, result, code string) store.AuditRecord {
	ri := infoFrom(ctx)
	rec := store.AuditRecord{
		Time:       s.now(),
		TenantID:   c.tenantID,
		TenantName: c.tenantName,
		Action:     c.action,
		ObjectType: c.objectType,
		ObjectName: c.objectName,
		Result:     result,
		ErrorCode:  code,
		RequestID:  ri.id,
		SourceIP:   ri.ip,
	}
	if p := ri.principal; p != nil {
		rec.ActorUserID = p.UserID
		rec.ActorName = p.UserName
		rec.APIKey = p.AppKey
	} else {
		rec.ActorName = c.actorName
	}
	return rec
}
