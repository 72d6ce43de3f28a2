package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// ListUsers lists users: all of them for platform admins, the members of a
// tenant the caller may read with ?tenant=, else only the caller.
func (h handlers) ListUsers(ctx context.Context, req api.ListUsersRequestObject) (api.ListUsersResponseObject, error) {
	p := principalFrom(ctx)
	prm := req.Params
	f := store.UserFilter{Enabled: prm.Enabled, NamePrefix: deref(prm.NamePrefix), Page: page(prm.Limit, prm.PageToken)}
	var out api.UserList
	err := h.store.Read(ctx, func(tx store.Tx) error {
		if prm.Tenant != nil {
			t, err := tenantFor(ctx, tx, *prm.Tenant, PermMembersRead)
			if err != nil {
				return err
			}
			f.TenantID = t.ID
		} else if !p.isPlatformAdmin() {
			u, err := tx.GetUser(ctx, p.UserID)
			if err != nil {
				return err
			}
			if strings.HasPrefix(u.Name, f.NamePrefix) && (f.Enabled == nil || *f.Enabled == u.Enabled) {
				out.Items = []api.User{userToAPI(u)}
			}
			return nil
		}
		users, next, err := tx.ListUsers(ctx, f)
		out.Items, out.NextPageToken = usersToAPI(users), next
		return pageErr(err)
	})
	if err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []api.User{}
	}
	return api.ListUsers200JSONResponse(out), nil
}

// userFor loads the user named name if the caller may see it: platform
// admins see everyone, users see themselves and the members of tenants
// where they may read members.
func userFor(ctx context.Context, tx store.Tx, name string) (store.User, error) {
	u, err := tx.GetUserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return u, problem.NotFound("user", name)
	}
	if err != nil {
		return u, err
	}
	p := principalFrom(ctx)
	if p.isPlatformAdmin() || u.ID == p.UserID {
		return u, nil
	}
	roles, err := tx.EffectiveRoles(ctx, u.ID)
	if err != nil {
		return u, err
	}
	for tenantID := range roles {
		if p.can(tenantID, PermMembersRead) {
			return u, nil
		}
	}
	return u, problem.NotFound("user", name)
}

// GetUser returns one user.
func (h handlers) GetUser(ctx context.Context, req api.GetUserRequestObject) (api.GetUserResponseObject, error) {
	var u store.User
	err := h.store.Read(ctx, func(tx store.Tx) (err error) {
		u, err = userFor(ctx, tx, req.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.GetUser200JSONResponse(userToAPI(u)), nil
}

// CreateUser creates a user with its personal tenant, and optionally gives
// it a role in a group tenant.
func (h handlers) CreateUser(ctx context.Context, req api.CreateUserRequestObject) (api.CreateUserResponseObject, error) {
	if err := requirePlatformAdmin(ctx); err != nil {
		return nil, err
	}
	in := req.Body
	v := validate.New()
	v.UserName("name", in.Name)
	if in.Email != nil {
		v.Email("email", *in.Email)
	}
	if in.DisplayName != nil {
		v.DisplayName("display_name", *in.DisplayName)
	}
	if in.Password != nil {
		v.At("password", auth.CheckPassword(*in.Password))
	}
	checkTenantRole(v, in.Tenant, in.Role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	u := store.User{Name: in.Name, Email: deref(in.Email), DisplayName: deref(in.DisplayName),
		Enabled: in.Enabled == nil || *in.Enabled, PlatformAdmin: deref(in.PlatformAdmin)}
	if in.Password != nil {
		hash, err := auth.HashPassword(*in.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = hash
	}
	c := &change{action: "user.create", objectType: "user", objectName: in.Name}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		u.CreatedAt, u.UpdatedAt = h.now(), h.now()
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		return h.assignBatchRole(ctx, tx, c, []store.User{u}, in.Tenant, in.Role)
	})
	if err != nil {
		return nil, err
	}
	return api.CreateUser201JSONResponse(userToAPI(u)), nil
}

// checkTenantRole requires tenant and role to come together.
func checkTenantRole(v *validate.Validator, tenant *string, role *api.Role) {
	v.Check(tenant != nil || role == nil, "tenant", "is required with role")
	v.Check(tenant == nil || role != nil, "role", "is required with tenant")
	if role != nil {
		v.Role("role", string(*role))
	}
}

// assignBatchRole gives the new users a role in the named group tenant.
func (h handlers) assignBatchRole(ctx context.Context, tx store.Tx, c *change, users []store.User, tenant *string, role *api.Role) error {
	if tenant == nil {
		return nil
	}
	t, err := tx.GetTenantByName(ctx, *tenant)
	if errors.Is(err, store.ErrNotFound) {
		return problem.Invalid("tenant", "tenant %q does not exist; create it first with `nimbus tenant create`", *tenant)
	}
	if err != nil {
		return err
	}
	if t.Kind != store.TenantGroup {
		return problem.Invalid("tenant", "tenant %q is a personal tenant; give roles in group tenants", *tenant)
	}
	c.tenantID, c.tenantName = t.ID, t.Name
	as := make([]store.RoleAssignment, len(users))
	for i, u := range users {
		as[i] = store.RoleAssignment{TenantID: t.ID, SubjectKind: store.SubjectUser, SubjectID: u.ID, Role: string(*role), CreatedAt: h.now()}
	}
	return tx.SetRoles(ctx, as)
}

// BatchCreateUsers creates a numbered range of users, all or none; when
// names are taken it names every one of them.
func (h handlers) BatchCreateUsers(ctx context.Context, req api.BatchCreateUsersRequestObject) (api.BatchCreateUsersResponseObject, error) {
	if err := requirePlatformAdmin(ctx); err != nil {
		return nil, err
	}
	in := req.Body
	v := validate.New()
	start, end, width, err := validate.ParseRange(in.Range)
	v.Add(err)
	suffix := deref(in.Suffix)
	if err == nil {
		// The first and last names bound the shape of every name between.
		v.At("prefix", validate.UserName("prefix", fmt.Sprintf("%s%0*d%s", in.Prefix, width, start, suffix)))
		v.At("prefix", validate.UserName("prefix", fmt.Sprintf("%s%0*d%s", in.Prefix, width, end, suffix)))
	}
	if in.EmailDomain != nil {
		v.Email("email_domain", "user@"+*in.EmailDomain)
	}
	if in.DisplayNamePrefix != nil {
		v.DisplayName("display_name_prefix", *in.DisplayNamePrefix)
	}
	v.At("password", auth.CheckPassword(in.Password))
	checkTenantRole(v, in.Tenant, in.Role)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// One hash for the batch: the users share the initial password anyway,
	// and each gets a hash of its own when it changes it. This keeps a batch
	// of thousands of users to one key derivation.
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	now := h.now()
	users := make([]store.User, 0, end-start+1)
	for n := start; n <= end; n++ {
		num := fmt.Sprintf("%0*d", width, n)
		u := store.User{Name: in.Prefix + num + suffix, Enabled: in.Enabled == nil || *in.Enabled,
			PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
		if in.EmailDomain != nil {
			u.Email = u.Name + "@" + *in.EmailDomain
		}
		if in.DisplayNamePrefix != nil {
			u.DisplayName = *in.DisplayNamePrefix + num
		}
		users = append(users, u)
	}
	c := &change{action: "user.batch_create", objectType: "user",
		objectName: fmt.Sprintf("%s[%s]%s (%d users)", in.Prefix, in.Range, suffix, len(users))}
	err = h.mutate(ctx, c, func(tx store.Tx) error {
		if err := tx.CreateUsers(ctx, users); err != nil {
			return err
		}
		return h.assignBatchRole(ctx, tx, c, users, in.Tenant, in.Role)
	})
	if err != nil {
		return nil, err
	}
	return api.BatchCreateUsers201JSONResponse{Items: usersToAPI(users), Count: len(users)}, nil
}

// UpdateUser changes a user. Users may change their own email and display
// name; everything else, and other users, need a platform admin.
func (h handlers) UpdateUser(ctx context.Context, req api.UpdateUserRequestObject) (api.UpdateUserResponseObject, error) {
	p := principalFrom(ctx)
	in := req.Body
	v := validate.New()
	if in.Email != nil && *in.Email != "" {
		v.Email("email", *in.Email)
	}
	if in.DisplayName != nil {
		v.DisplayName("display_name", *in.DisplayName)
	}
	if in.Password != nil {
		v.At("password", auth.CheckPassword(*in.Password))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var hash string
	if in.Password != nil {
		var err error
		if hash, err = auth.HashPassword(*in.Password); err != nil {
			return nil, err
		}
	}
	var u store.User
	c := &change{action: "user.update", objectType: "user", objectName: req.Name,
		altersAccess: in.Enabled != nil || in.PlatformAdmin != nil || in.Password != nil}
	err := h.mutate(ctx, c, func(tx store.Tx) (err error) {
		if u, err = userFor(ctx, tx, req.Name); err != nil {
			return err
		}
		self := u.ID == p.UserID
		adminOnly := in.Enabled != nil || in.PlatformAdmin != nil || in.Password != nil
		if !p.isPlatformAdmin() && (!self || adminOnly || p.AppKey != "") {
			return problem.Forbidden("only a platform admin may change this; change your own password with `nimbus password`")
		}
		if self && in.Enabled != nil && !*in.Enabled {
			return problem.Invalid("enabled", "you cannot disable yourself")
		}
		if self && in.PlatformAdmin != nil && !*in.PlatformAdmin {
			return problem.Invalid("platform_admin", "you cannot drop your own platform admin role; ask another platform admin")
		}
		if in.Email != nil {
			u.Email = *in.Email
		}
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		if in.Enabled != nil {
			u.Enabled = *in.Enabled
		}
		if in.PlatformAdmin != nil {
			u.PlatformAdmin = *in.PlatformAdmin
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		u.UpdatedAt = h.now()
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		if !u.Enabled || hash != "" {
			_, err = tx.DeleteUserTokens(ctx, u.ID, "")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.UpdateUser200JSONResponse(userToAPI(u)), nil
}

// DeleteUser deletes a user with its personal tenant, sessions and keys.
func (h handlers) DeleteUser(ctx context.Context, req api.DeleteUserRequestObject) (api.DeleteUserResponseObject, error) {
	p := principalFrom(ctx)
	c := &change{action: "user.delete", objectType: "user", objectName: req.Name}
	err := h.mutate(ctx, c, func(tx store.Tx) error {
		u, err := userFor(ctx, tx, req.Name)
		if err != nil {
			return err
		}
		if !p.isPlatformAdmin() {
			return problem.Forbidden("only a platform admin may delete users")
		}
		if u.ID == p.UserID {
			return problem.Conflict("name", "you cannot delete yourself; ask another platform admin")
		}
		return tx.DeleteUser(ctx, u.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteUser204Response{}, nil
}
