package sqlstore

import (
	"context"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

const auditCols = `a.id, a.occurred_at, a.actor_user_id, a.actor_name, a.api_key, COALESCE(a.tenant_id, ''), a.tenant_name,
	a.action, a.object_type, a.object_name, a.result, a.error_code, a.request_id, a.source_ip`

func scanAudit(s interface{ Scan(...any) error }) (store.AuditRecord, error) {
	var r store.AuditRecord
	var at int64
	err := s.Scan(&r.ID, &at, &r.ActorUserID, &r.ActorName, &r.APIKey, &r.TenantID, &r.TenantName,
		&r.Action, &r.ObjectType, &r.ObjectName, &r.Result, &r.ErrorCode, &r.RequestID, &r.SourceIP)
	r.Time = fromMicros(at)
	return r, err
}

func (t *tx) InsertAudit(ctx context.Context, r *store.AuditRecord) error {
	fillID(&r.ID)
	stamp(&r.Time)
	_, err := t.exec(ctx, `INSERT INTO audit_log (id, occurred_at, actor_user_id, actor_name, api_key, tenant_id, tenant_name,
		action, object_type, object_name, result, error_code, request_id, source_ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Time.UnixMicro(), r.ActorUserID, r.ActorName, r.APIKey, nullString(r.TenantID), r.TenantName,
		r.Action, r.ObjectType, r.ObjectName, r.Result, r.ErrorCode, r.RequestID, r.SourceIP)
	return wrap(err, "insert audit record")
}

func (t *tx) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, string, error) {
	var c conds
	if f.TenantIDs != nil {
		c.in("a.tenant_id", f.TenantIDs)
	}
	if f.Actor != "" {
		c.add("a.actor_name = ?", f.Actor)
	}
	switch a := f.Action; {
	case strings.HasSuffix(a, "*"):
		c.prefix("a.action", strings.TrimSuffix(a, "*"))
	case strings.HasSuffix(a, "."):
		c.prefix("a.action", a)
	case a != "":
		c.add("a.action = ?", a)
	}
	if f.ObjectType != "" {
		c.add("a.object_type = ?", f.ObjectType)
	}
	if f.ObjectName != "" {
		c.add("a.object_name = ?", f.ObjectName)
	}
	if f.Result != "" {
		c.add("a.result = ?", f.Result)
	}
	if !f.Since.IsZero() {
		c.add("a.occurred_at >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		c.add("a.occurred_at < ?", f.Until.UnixMicro())
	}
	var at int64
	var id string
	ok, err := decodeCursor(f.Token, "audit", &at, &id)
	if err != nil {
		return nil, "", err
	}
	if ok {
		c.add("(a.occurred_at, a.id) < (?, ?)", at, id)
	}
	limit := f.EffectiveLimit()
	rows, err := t.query(ctx, "SELECT "+auditCols+" FROM audit_log a"+c.where()+
		" ORDER BY a.occurred_at DESC, a.id DESC LIMIT ?", append(c.args, limit+1)...)
	if err != nil {
		return nil, "", wrap(err, "list audit")
	}
	records, err := scanAll(rows, func() (store.AuditRecord, error) { return scanAudit(rows) })
	if err != nil {
		return nil, "", wrap(err, "list audit")
	}
	records, next := pageOf(records, limit, "audit", func(r store.AuditRecord) []any { return []any{r.Time.UnixMicro(), r.ID} })
	return records, next, nil
}
