package server

import (
	"context"
	"errors"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// ListGroups lists all groups for platform admins, else the caller's groups.
func (h handlers) ListGroups(ctx context.Context, req api.ListGroupsRequestObject) (api.ListGroupsResponseObject, error) {
	p := principalFrom(ctx)
	f := store.GroupFilter{NamePrefix: deref(req.Params.NamePrefix), Page: page(req.Params.Limit, req.Params.PageToken)}
	if !p.isPlatformAdmin() {
		f.MemberUserID = p.UserID
	}
	var out api.GroupList
	if p.AppKey != "" {
		// Groups are platform objects; a key acts in one tenant only.
		return api.ListGroups200JSONResponse(api.GroupList{Items: []api.Group{}}), nil
	}
	err := h.store.Read(ctx, func(tx store.Tx) error {
		groups, next, err := tx.ListGroups(ctx, f)
		out.Items = make([]api.Group, len(groups))
		for i, g := range groups {
			out.Items[i] = groupToAPI(g, nil)
		}
		out.NextPageToken = next
		return pageErr(err)
	})
	if err != nil {
		return nil, err
	}
	return api.ListGroups200JSONResponse(out), nil
}

// groupFor loads a group the caller may see: platform admins see all,
// users the groups they belong to.
func groupFor(ctx context.Context, tx store.Tx, name string) (store.Group, []store.User, error) {
	g, err := tx.GetGroupByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return g, nil, problem.NotFound("group", name)
	}
	if err != nil {
		return g, nil, err
	}
	members, err := tx.ListGroupMembers(ctx, g.ID)
	if err != nil {
		return g, nil, err
	}
	p := principalFrom(ctx)
	if p.isPlatformAdmin() {
		return g, members, nil
	}
	for _, m := range members {
		if m.ID == p.UserID && p.AppKey == "" {
			return g, members, nil
		}
	}
	return g, nil, problem.NotFound("group", name)
}

// GetGroup returns a group with its members.
func (h handlers) GetGroup(ctx context.Context, req api.GetGroupRequestObject) (api.GetGroupResponseObject, error) {
	var out api.Group
	err := h.store.Read(ctx, func(tx store.Tx) error {
		g, members, err := groupFor(ctx, tx, req.Name)
		out = groupToAPI(g, members)
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Members == nil {
		out.Members = &[]string{}
	}
	return api.GetGroup200JSONResponse(out), nil
}

// CreateGroup creates an empty group.
func (h handlers) CreateGroup(ctx context.Context, req api.CreateGroupRequestObject) (api.CreateGroupResponseObject, error) {
	if err := requirePlatformAdmin(ctx); err != nil {
		return nil, err
	}
	v := validate.New()
	v.TenantName("name", req.Body.Name)
	v.Description("description", deref(req.Body.Description))
	if err := v.Err(); err != nil {
		return nil, err
	}
	g := store.Group{Name: req.Body.Name, Description: deref(req.Body.Description), CreatedAt: h.now(), UpdatedAt: h.now()}
	err := h.mutate(ctx, &change{action: "group.create", objectType: "group", objectName: g.Name}, func(tx store.Tx) error {
		return tx.CreateGroup(ctx, &g)
	})
	if err != nil {
		return nil, err
	}
	return api.CreateGroup201JSONResponse(groupToAPI(g, []store.User{})), nil
}

// groupMutation loads a group for a platform admin's change.
func groupMutation(ctx context.Context, tx store.Tx, name string) (store.Group, error) {
	g, _, err := groupFor(ctx, tx, name)
	if err != nil {
		return g, err
	}
	return g, requirePlatformAdmin(ctx)
}

// UpdateGroup changes a group's description.
func (h handlers) UpdateGroup(ctx context.Context, req api.UpdateGroupRequestObject) (api.UpdateGroupResponseObject, error) {
	v := validate.New()
	v.Description("description", deref(req.Body.Description))
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out api.Group
	err := h.mutate(ctx, &change{action: "group.update", objectType: "group", objectName: req.Name}, func(tx store.Tx) error {
		g, err := groupMutation(ctx, tx, req.Name)
		if err != nil {
			return err
		}
		if req.Body.Description != nil {
			g.Description = *req.Body.Description
		}
		g.UpdatedAt = h.now()
		if err := tx.UpdateGroup(ctx, &g); err != nil {
			return err
		}
		members, err := tx.ListGroupMembers(ctx, g.ID)
		out = groupToAPI(g, members)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.UpdateGroup200JSONResponse(out), nil
}

// DeleteGroup deletes a group with its memberships and roles.
func (h handlers) DeleteGroup(ctx context.Context, req api.DeleteGroupRequestObject) (api.DeleteGroupResponseObject, error) {
	err := h.mutate(ctx, &change{action: "group.delete", objectType: "group", objectName: req.Name}, func(tx store.Tx) error {
		g, err := groupMutation(ctx, tx, req.Name)
		if err != nil {
			return err
		}
		return tx.DeleteGroup(ctx, g.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.DeleteGroup204Response{}, nil
}

// AddGroupMember adds a user to a group; adding again changes nothing.
func (h handlers) AddGroupMember(ctx context.Context, req api.AddGroupMemberRequestObject) (api.AddGroupMemberResponseObject, error) {
	err := h.mutate(ctx, &change{action: "group.member.add", objectType: "group", objectName: req.Name + "/" + req.User}, func(tx store.Tx) error {
		g, err := groupMutation(ctx, tx, req.Name)
		if err != nil {
			return err
		}
		u, err := userFor(ctx, tx, req.User)
		if err != nil {
			return err
		}
		return tx.AddGroupMember(ctx, g.ID, u.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.AddGroupMember204Response{}, nil
}

// RemoveGroupMember removes a user from a group.
func (h handlers) RemoveGroupMember(ctx context.Context, req api.RemoveGroupMemberRequestObject) (api.RemoveGroupMemberResponseObject, error) {
	err := h.mutate(ctx, &change{action: "group.member.remove", objectType: "group", objectName: req.Name + "/" + req.User}, func(tx store.Tx) error {
		g, err := groupMutation(ctx, tx, req.Name)
		if err != nil {
			return err
		}
		u, err := userFor(ctx, tx, req.User)
		if err != nil {
			return err
		}
		err = tx.RemoveGroupMember(ctx, g.ID, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("member of group "+g.Name, u.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.RemoveGroupMember204Response{}, nil
}
