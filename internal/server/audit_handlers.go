package server

import (
	"context"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// ListAudit lists audit records, newest first. Platform admins see every
// record; anyone else sees the records of the tenants where they hold
// PermAuditRead, which for most callers is none: an empty list, not an
// error. A tenant filter naming a tenant the caller cannot read answers 404.
func (h handlers) ListAudit(ctx context.Context, req api.ListAuditRequestObject) (api.ListAuditResponseObject, error) {
	params := req.Params
	f := store.AuditFilter{
		Actor:      deref(params.Actor),
		Action:     deref(params.Action),
		ObjectType: deref(params.ObjectType),
		ObjectName: deref(params.ObjectName),
		Result:     string(deref(params.Result)),
		Since:      deref(params.Since),
		Until:      deref(params.Until),
		Page:       page(params.Limit, params.PageToken),
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return nil, problem.Invalid("until", "must be after since")
	}

	p := principalFrom(ctx)
	out := api.AuditRecordList{Items: []api.AuditRecord{}}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		if params.Tenant != nil {
			t, err := tenantFor(ctx, tx, *params.Tenant, PermTenantRead)
			if err != nil {
				return err
			}
			f.TenantIDs = []string{t.ID}
		}
		if !p.isPlatformAdmin() {
			f.TenantIDs = auditTenants(p, f.TenantIDs)
			if len(f.TenantIDs) == 0 {
				return nil
			}
		}
		records, next, err := tx.ListAudit(ctx, f)
		if err != nil {
			return pageErr(err)
		}
		for _, r := range records {
			out.Items = append(out.Items, auditToAPI(r))
		}
		out.NextPageToken = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListAudit200JSONResponse(out), nil
}

// auditTenants returns the tenants, of wanted or (when wanted is nil) of
// all the caller can read, whose audit records p may read. The result is
// never nil, so an empty one matches no record.
func auditTenants(p *Principal, wanted []string) []string {
	if wanted == nil {
		wanted, _ = p.visibleTenants()
	}
	ids := []string{}
	for _, id := range wanted {
		if p.can(id, PermAuditRead) {
			ids = append(ids, id)
		}
	}
	return ids
}
