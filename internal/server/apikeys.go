package server

import (
	"context"
	"errors"
	"slices"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// API keys: tenant admins see and revoke every key of their tenant; other
// members see and revoke their own. A key never grants more than its
// creator may do in its tenant.

// ListAPIKeys lists the tenant's keys visible to the caller.
func (h handlers) ListAPIKeys(ctx context.Context, req api.ListAPIKeysRequestObject) (api.ListAPIKeysResponseObject, error) {
	p := principalFrom(ctx)
	out := api.APIKeyList{Items: []api.APIKey{}}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermTenantRead)
		if err != nil {
			return err
		}
		f := store.APIKeyFilter{TenantID: t.ID, Page: page(req.Params.Limit, req.Params.PageToken)}
		if !p.can(t.ID, PermTenantWrite) {
			f.UserID = p.UserID
		}
		keys, next, err := tx.ListAPIKeys(ctx, f)
		if err != nil {
			return pageErr(err)
		}
		l := newLookup(tx)
		for _, k := range keys {
			creator, err := l.userName(ctx, k.UserID)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, apiKeyToAPI(k, creator, t.Name))
		}
		out.NextPageToken = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.ListAPIKeys200JSONResponse(out), nil
}

// CreateAPIKey issues an AppKey/AppSecret pair; the secret is only in this
// answer.
func (h handlers) CreateAPIKey(ctx context.Context, req api.CreateAPIKeyRequestObject) (api.CreateAPIKeyResponseObject, error) {
	p := principalFrom(ctx)
	in := req.Body
	v := validate.New()
	v.Description("description", deref(in.Description))
	v.Check(len(in.Permissions) > 0, "permissions", "must list at least one permission, e.g. tenant:read")
	perms := make([]string, len(in.Permissions))
	for i, perm := range in.Permissions {
		perms[i] = string(perm)
	}
	v.Permissions("permissions", perms, AllPermissions())
	if in.ExpiresAt != nil {
		v.Check(in.ExpiresAt.After(h.now()), "expires_at", "must be in the future")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	secret := auth.NewAppSecret()
	k := store.APIKey{AppKey: auth.NewAppKey(), SecretHash: auth.HashSecret(secret), UserID: p.UserID,
		Permissions: perms, Description: deref(in.Description), CreatedAt: h.now()}
	if in.ExpiresAt != nil {
		k.ExpiresAt = *in.ExpiresAt
	}
	var tenant string
	c := &change{action: "apikey.create", objectType: "apikey", objectName: k.AppKey}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermAPIKeyWrite)
		if err != nil {
			return err
		}
		c.tenantID, c.tenantName, tenant = t.ID, t.Name, t.Name
		grantable := p.grantablePerms(t.ID)
		for i, perm := range perms {
			if slices.Contains(grantable, perm) {
				continue
			}
			if p.AppKey != "" {
				return problem.Invalid(validate.Index("permissions", i), "the API key you call with does not hold %s; a key cannot mint a key that does more", perm)
			}
			return problem.Invalid(validate.Index("permissions", i), "your role in tenant %q does not include %s; a key cannot do more than its creator", t.Name, perm)
		}
		k.TenantID = t.ID
		return tx.CreateAPIKey(ctx, &k)
	})
	if err != nil {
		return nil, err
	}
	return api.CreateAPIKey201JSONResponse{APIKey: apiKeyToAPI(k, p.UserName, tenant), AppSecret: secret}, nil
}

// apiKeyFor loads a key of the tenant that the caller may see.
func apiKeyFor(ctx context.Context, tx store.Tx, tenant, appKey string) (store.APIKey, store.Tenant, error) {
	t, err := tenantFor(ctx, tx, tenant, PermTenantRead)
	if err != nil {
		return store.APIKey{}, t, err
	}
	k, err := tx.GetAPIKey(ctx, appKey)
	p := principalFrom(ctx)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (k.TenantID != t.ID || (k.UserID != p.UserID && !p.can(t.ID, PermTenantWrite)))) {
		return k, t, problem.NotFound("API key", appKey)
	}
	return k, t, err
}

// GetAPIKey returns one key (never its secret).
func (h handlers) GetAPIKey(ctx context.Context, req api.GetAPIKeyRequestObject) (api.GetAPIKeyResponseObject, error) {
	var out api.APIKey
	err := h.store.Read(ctx, func(tx store.Tx) error {
		k, t, err := apiKeyFor(ctx, tx, req.Name, req.AppKey)
		if err != nil {
			return err
		}
		creator, err := newLookup(tx).userName(ctx, k.UserID)
		out = apiKeyToAPI(k, creator, t.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetAPIKey200JSONResponse(out), nil
}

// RevokeAPIKey revokes a key at once; revoking again changes nothing.
func (h handlers) RevokeAPIKey(ctx context.Context, req api.RevokeAPIKeyRequestObject) (api.RevokeAPIKeyResponseObject, error) {
	c := &change{action: "apikey.revoke", objectType: "apikey", objectName: req.AppKey}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		k, t, err := apiKeyFor(ctx, tx, req.Name, req.AppKey)
		if err != nil {
			return err
		}
		if !principalFrom(ctx).can(t.ID, PermAPIKeyWrite) {
			return problem.Forbidden("revoking API keys needs %s in tenant %q", PermAPIKeyWrite, t.Name)
		}
		c.tenantID, c.tenantName = t.ID, t.Name
		return tx.RevokeAPIKey(ctx, k.AppKey, h.now())
	})
	if err != nil {
		return nil, err
	}
	return api.RevokeAPIKey204Response{}, nil
}
