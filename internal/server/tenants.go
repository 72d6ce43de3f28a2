package server

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// ListTenants lists all tenants for platform admins, else those where the
// caller holds a role (for an API key: its tenant).
func (h handlers) ListTenants(ctx context.Context, req api.ListTenantsRequestObject) (api.ListTenantsResponseObject, error) {
	p := principalFrom(ctx)
	prm := req.Params
	f := store.TenantFilter{Kind: string(deref(prm.Kind)), NamePrefix: deref(prm.NamePrefix), Page: page(prm.Limit, prm.PageToken)}
	var out api.TenantList
	err := h.store.Read(ctx, func(tx store.Tx) error {
		if p.AppKey != "" {
			t, err := tx.GetTenant(ctx, p.KeyTenantID)
			if err != nil {
				return err
			}
			if p.canRead(t.ID) && (f.Kind == "" || f.Kind == t.Kind) && strings.HasPrefix(t.Name, f.NamePrefix) {
				out.Items = []api.Tenant{tenantToAPI(t)}
			}
			return nil
		}
		if !p.isPlatformAdmin() {
			f.MemberUserID = p.UserID
		}
		tenants, next, err := tx.ListTenants(ctx, f)
		for _, t := range tenants {
			out.Items = append(out.Items, tenantToAPI(t))
		}
		out.NextPageToken = next
		return pageErr(err)
	})
	if err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []api.Tenant{}
	}
	return api.ListTenants200JSONResponse(out), nil
}

// CreateTenant creates a group tenant.
func (h handlers) CreateTenant(ctx context.Context, req api.CreateTenantRequestObject) (api.CreateTenantResponseObject, error) {
	if err := requirePlatformAdmin(ctx); err != nil {
		return nil, err
	}
	in := req.Body
	v := validate.New()
	v.TenantName("name", in.Name)
	v.Description("description", deref(in.Description))
	if in.AdminEmail != nil {
		v.Email("admin_email", *in.AdminEmail)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t := store.Tenant{Name: in.Name, Kind: store.TenantGroup, Description: deref(in.Description),
		AdminEmail: deref(in.AdminEmail), CreatedAt: h.now(), UpdatedAt: h.now()}
	c := &change{action: "tenant.create", objectType: "tenant", objectName: in.Name}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		if err := tx.CreateTenant(ctx, &t); err != nil {
			return err
		}
		c.tenantID, c.tenantName = t.ID, t.Name
		return nil
	})
	if err != nil {
		return nil, err
	}
	return api.CreateTenant201JSONResponse(tenantToAPI(t)), nil
}

// GetTenant returns a tenant the caller may read.
func (h handlers) GetTenant(ctx context.Context, req api.GetTenantRequestObject) (api.GetTenantResponseObject, error) {
	var t store.Tenant
	err := h.store.Read(ctx, func(tx store.Tx) (err error) {
		t, err = tenantFor(ctx, tx, req.Name, PermTenantRead)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetTenant200JSONResponse(tenantToAPI(t)), nil
}

// UpdateTenant changes a tenant's description and admin email.
func (h handlers) UpdateTenant(ctx context.Context, req api.UpdateTenantRequestObject) (api.UpdateTenantResponseObject, error) {
	in := req.Body
	v := validate.New()
	if in.Description != nil {
		v.Description("description", *in.Description)
	}
	if in.AdminEmail != nil && *in.AdminEmail != "" {
		v.Email("admin_email", *in.AdminEmail)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var t store.Tenant
	c := &change{action: "tenant.update", objectType: "tenant", objectName: req.Name}
	err := h.mutate(ctx, c, func(tx store.Tx) (err error) {
		if t, err = tenantFor(ctx, tx, req.Name, PermTenantWrite); err != nil {
			return err
		}
		c.tenantID, c.tenantName = t.ID, t.Name
		if in.Description != nil {
			t.Description = *in.Description
		}
		if in.AdminEmail != nil {
			t.AdminEmail = *in.AdminEmail
		}
		t.UpdatedAt = h.now()
		return tx.UpdateTenant(ctx, &t)
	})
	if err != nil {
		return nil, err
	}
	return api.UpdateTenant200JSONResponse(tenantToAPI(t)), nil
}

// DeleteTenant deletes a group tenant with its roles, keys and quotas.
func (h handlers) DeleteTenant(ctx context.Context, req api.DeleteTenantRequestObject) (api.DeleteTenantResponseObject, error) {
	c := &change{action: "tenant.delete", objectType: "tenant", objectName: req.Name}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermTenantRead)
		if err != nil {
			return err
		}
		if err := requirePlatformAdmin(ctx); err != nil {
			return err
		}
		if t.Kind == store.TenantPersonal {
			return problem.Conflict("name", "%q is a personal tenant; it goes when its user is deleted", t.Name)
		}
		return tx.DeleteTenant(ctx, t.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteTenant204Response{}, nil
}

// ListMembers lists who holds a role in a tenant, directly or via groups.
func (h handlers) ListMembers(ctx context.Context, req api.ListMembersRequestObject) (api.ListMembersResponseObject, error) {
	out := api.MemberList{Items: []api.Member{}}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, req.Name, PermMembersRead)
		if err != nil {
			return err
		}
		members, next, err := tx.ListMembers(ctx, store.MemberFilter{TenantID: t.ID, Page: page(req.Params.Limit, req.Params.PageToken)})
		for _, m := range members {
			out.Items = append(out.Items, memberToAPI(m))
		}
		out.NextPageToken = next
		return pageErr(err)
	})
	if err != nil {
		return nil, err
	}
	return api.ListMembers200JSONResponse(out), nil
}

// subject is the user or group a role change is about.
type subject struct {
	kind, id, name string
}

// setRole gives a user or group a role in a tenant, as the tenant's admin.
// A tenant admin can only name users it can already see (members of its
// tenants): platform admins bring new people in. Personal tenants keep their
// owner as their only member, and only platform admins give groups roles.
func (h handlers) setRole(ctx context.Context, tenant string, role api.Role, kind, name string) (api.Member, error) {
	v := validate.New()
	v.Role("role", string(role))
	if err := v.Err(); err != nil {
		return api.Member{}, err
	}
	var out api.Member
	c := &change{action: "tenant.role.set", objectType: "tenant", objectName: tenant + "/" + kind + "/" + name}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, tenant, PermMembersWrite)
		if err != nil {
			return err
		}
		c.tenantID, c.tenantName = t.ID, t.Name
		if t.Kind == store.TenantPersonal {
			return problem.Conflict("name", "%q is a personal tenant: its owner is its only member; share work through a group tenant", t.Name)
		}
		var s subject
		if kind == store.SubjectGroup {
			if !principalFrom(ctx).isPlatformAdmin() {
				return problem.Forbidden("only a platform admin may give a group a role: a group's members span tenants")
			}
			g, err := tx.GetGroupByName(ctx, name)
			if err != nil {
				return wrapNotFound(err, "group", name)
			}
			s = subject{kind: kind, id: g.ID, name: g.Name}
		} else {
			u, err := userFor(ctx, tx, name)
			if err != nil {
				return err
			}
			s = subject{kind: kind, id: u.ID, name: u.Name}
		}
		out = api.Member{Kind: api.MemberKind(s.kind), Name: s.name, Role: role}
		return tx.SetRole(ctx, store.RoleAssignment{TenantID: t.ID, SubjectKind: s.kind, SubjectID: s.id, Role: string(role), CreatedAt: h.now()})
	})
	return out, err
}

// removeRole removes a user's or group's direct role in a tenant. A name
// that does not exist and one without a role there get the same answer.
func (h handlers) removeRole(ctx context.Context, tenant, kind, name string) error {
	c := &change{action: "tenant.role.remove", objectType: "tenant", objectName: tenant + "/" + kind + "/" + name}
	return h.mutate(ctx, c, func(tx store.Tx) error {
		t, err := tenantFor(ctx, tx, tenant, PermMembersWrite)
		if err != nil {
			return err
		}
		c.tenantID, c.tenantName = t.ID, t.Name
		noRole := problem.NotFound(kind+" with a role in tenant "+strconv.Quote(t.Name), name)
		var id string
		if kind == store.SubjectGroup {
			g, err := tx.GetGroupByName(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return noRole
			}
			if err != nil {
				return err
			}
			id = g.ID
		} else {
			u, err := tx.GetUserByName(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return noRole
			}
			if err != nil {
				return err
			}
			if t.Kind == store.TenantPersonal && u.ID == t.OwnerUserID {
				return problem.Conflict("name", "user %q owns personal tenant %q and stays its admin", u.Name, t.Name)
			}
			id = u.ID
		}
		err = tx.RemoveRole(ctx, t.ID, kind, id)
		if errors.Is(err, store.ErrNotFound) {
			return noRole
		}
		return err
	})
}

// SetUserRole gives a user a role in a tenant.
func (h handlers) SetUserRole(ctx context.Context, req api.SetUserRoleRequestObject) (api.SetUserRoleResponseObject, error) {
	m, err := h.setRole(ctx, req.Name, req.Body.Role, store.SubjectUser, req.User)
	if err != nil {
		return nil, err
	}
	return api.SetUserRole200JSONResponse(m), nil
}

// RemoveUserRole removes a user's direct role in a tenant.
func (h handlers) RemoveUserRole(ctx context.Context, req api.RemoveUserRoleRequestObject) (api.RemoveUserRoleResponseObject, error) {
	if err := h.removeRole(ctx, req.Name, store.SubjectUser, req.User); err != nil {
		return nil, err
	}
	return api.RemoveUserRole204Response{}, nil
}

// SetGroupRole gives a group a role in a tenant.
func (h handlers) SetGroupRole(ctx context.Context, req api.SetGroupRoleRequestObject) (api.SetGroupRoleResponseObject, error) {
	m, err := h.setRole(ctx, req.Name, req.Body.Role, store.SubjectGroup, req.Group)
	if err != nil {
		return nil, err
	}
	return api.SetGroupRole200JSONResponse(m), nil
}

// RemoveGroupRole removes a group's role in a tenant.
func (h handlers) RemoveGroupRole(ctx context.Context, req api.RemoveGroupRoleRequestObject) (api.RemoveGroupRoleResponseObject, error) {
	if err := h.removeRole(ctx, req.Name, store.SubjectGroup, req.Group); err != nil {
		return nil, err
	}
	return api.RemoveGroupRole204Response{}, nil
}
