package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func testTenants(t *testing.T, s store.Store) {
	rd := mkTenant(t, s, "RD_Dept")
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateTenant(ctx, &store.Tenant{Name: "RD_Dept", Kind: store.TenantGroup})
	})
	c := wantAs[*store.ConflictError](t, err)
	equal(t, "conflict", *c, store.ConflictError{Object: "tenant", Field: "name", Value: "RD_Dept"})

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		tn, err := tx.GetTenantByName(ctx, "RD_Dept")
		if err != nil {
			return err
		}
		tn.Description, tn.AdminEmail = "research", "rd@example.com"
		return tx.UpdateTenant(ctx, &tn)
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		tn, err := tx.GetTenant(ctx, rd.ID)
		if err != nil {
			return err
		}
		if tn.Description != "research" || tn.AdminEmail != "rd@example.com" || tn.Kind != store.TenantGroup || tn.CreatedAt != rd.CreatedAt {
			t.Errorf("after update: %+v", tn)
		}
		return nil
	})

	// List by kind, prefix and membership (direct or via a group).
	ann, ben := mkUser(t, s, "ann"), mkUser(t, s, "ben")
	mkTenant(t, s, "RD_Lab")
	ops := mkTenant(t, s, "Ops")
	g := mkGroup(t, s, "oncall")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AddGroupMember(ctx, g.ID, ben.ID); err != nil {
			return err
		}
		return tx.SetRoles(ctx, []store.RoleAssignment{
			{TenantID: ops.ID, SubjectKind: store.SubjectGroup, SubjectID: g.ID, Role: store.RoleMember},
			{TenantID: ops.ID, SubjectKind: store.SubjectUser, SubjectID: ben.ID, Role: store.RoleViewer},
			{TenantID: rd.ID, SubjectKind: store.SubjectUser, SubjectID: ann.ID, Role: store.RoleViewer},
		})
	})
	for _, tc := range []struct {
		f    store.TenantFilter
		want []string
	}{
		{store.TenantFilter{Kind: store.TenantGroup}, []string{"Ops", "RD_Dept", "RD_Lab"}},
		{store.TenantFilter{Kind: store.TenantPersonal}, []string{"ann", "ben"}},
		{store.TenantFilter{NamePrefix: "RD_"}, []string{"RD_Dept", "RD_Lab"}},
		{store.TenantFilter{NamePrefix: "rd_"}, nil}, // prefixes are case-sensitive
		{store.TenantFilter{MemberUserID: ben.ID}, []string{"Ops", "ben"}},
		{store.TenantFilter{MemberUserID: ann.ID, Kind: store.TenantGroup}, []string{"RD_Dept"}},
	} {
		read(t, s, func(ctx context.Context, tx store.Tx) error {
			got, _, err := tx.ListTenants(ctx, tc.f)
			equalList(t, fmt.Sprintf("ListTenants(%+v)", tc.f), names(got, tenantName), tc.want)
			return err
		})
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		tn, err := tx.GetTenant(ctx, ops.ID)
		equal(t, "user count (ben direct and via group)", tn.UserCount, 1)
		return err
	})
}

func testDeleteTenant(t *testing.T, s store.Store) {
	u := mkUser(t, s, "erin")
	tn := mkTenant(t, s, "Lab")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectUser, SubjectID: u.ID, Role: store.RoleAdmin}); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, &store.APIKey{AppKey: "nak_lab", SecretHash: "s", UserID: u.ID, TenantID: tn.ID})
	})

	// Owning a cluster blocks the delete.
	own := mkCluster(t, s, "lab-cluster", tn.ID)
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTenant(ctx, tn.ID) })
	e := wantAs[*store.InUseError](t, err)
	equal(t, "in use reason", e.Reason, `owns cluster "lab-cluster"`)
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteCluster(ctx, own.ID) })

	// So does quota usage.
	c := mkCluster(t, s, "default", "")
	putQuota(t, s, tn.ID, c.ID, tier(0, 4, 1024, 1024, 100), tier(1, 4, 1024, 1024, 100))
	r := store.QuotaRequest{TenantID: tn.ID, ClusterID: c.ID, Priority: 1, Resources: store.Resources{MemoryMiB: 10}, OwnerKind: "volume", OwnerID: "v1"}
	if err := reserve(t, s, r); err != nil {
		t.Fatal(err)
	}
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTenant(ctx, tn.ID) })
	e = wantAs[*store.InUseError](t, err)
	equal(t, "in use reason", e.Reason, `quota tier 1 on cluster "default" has usage`)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ReleaseQuota(ctx, "volume", "v1") })
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteTenant(ctx, tn.ID) })
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetTenant(ctx, tn.ID)
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetAPIKey(ctx, "nak_lab")
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetQuota(ctx, tn.ID, c.ID)
		wantIs(t, err, store.ErrNotFound)
		roles, err := tx.EffectiveRoles(ctx, u.ID)
		if _, ok := roles[tn.ID]; ok {
			t.Errorf("role in deleted tenant survived: %v", roles)
		}
		return err
	})
}

func testGroupsAndRoles(t *testing.T, s store.Store) {
	fay, gus := mkUser(t, s, "fay"), mkUser(t, s, "gus")
	g := mkGroup(t, s, "admins")
	mkGroup(t, s, "viewers")
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateGroup(ctx, &store.Group{Name: "admins"}) })
	equal(t, "conflict field", wantAs[*store.ConflictError](t, err).Field, "name")
	tn := mkTenant(t, s, "Shop")

	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for range 2 { // adding twice is a no-op
			if err := tx.AddGroupMember(ctx, g.ID, fay.ID); err != nil {
				return err
			}
		}
		if err := tx.AddGroupMember(ctx, g.ID, gus.ID); err != nil {
			return err
		}
		gr, err := tx.GetGroup(ctx, g.ID)
		if err != nil {
			return err
		}
		gr.Description = "the admins"
		if err := tx.UpdateGroup(ctx, &gr); err != nil {
			return err
		}
		// Direct viewer, admin via the group: effective admin.
		if err := tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectUser, SubjectID: fay.ID, Role: store.RoleMember}); err != nil {
			return err
		}
		if err := tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectUser, SubjectID: fay.ID, Role: store.RoleViewer}); err != nil {
			return err
		}
		return tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectGroup, SubjectID: g.ID, Role: store.RoleAdmin})
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		gr, err := tx.GetGroupByName(ctx, "admins")
		equal(t, "group description", gr.Description, "the admins")
		if err != nil {
			return err
		}
		members, err := tx.ListGroupMembers(ctx, g.ID)
		equalList(t, "group members", names(members, userName), []string{"fay", "gus"})
		if err != nil {
			return err
		}
		groups, _, err := tx.ListGroups(ctx, store.GroupFilter{MemberUserID: gus.ID})
		equalList(t, "groups of gus", names(groups, func(g store.Group) string { return g.Name }), []string{"admins"})
		if err != nil {
			return err
		}
		roles, err := tx.EffectiveRoles(ctx, fay.ID)
		equal(t, "fay's effective role", roles[tn.ID], store.RoleAdmin)
		equal(t, "fay's tenants", len(roles), 2) // Shop and her personal tenant
		if err != nil {
			return err
		}
		all, _, err := tx.ListMembers(ctx, store.MemberFilter{TenantID: tn.ID})
		var got []string
		for _, m := range all {
			got = append(got, fmt.Sprintf("%s:%s:%s:%s", m.Kind, m.Name, m.Role, m.ViaGroup))
		}
		equalList(t, "members", got, []string{"group:admins:admin:", "user:fay:viewer:", "user:fay:admin:admins", "user:gus:admin:admins"})
		return err
	})

	// Removing roles and members.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.RemoveGroupMember(ctx, g.ID, gus.ID); err != nil {
			return err
		}
		return tx.RemoveRole(ctx, tn.ID, store.SubjectGroup, g.ID)
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.RemoveRole(ctx, tn.ID, store.SubjectGroup, g.ID)
	})
	wantIs(t, err, store.ErrNotFound)
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RemoveGroupMember(ctx, g.ID, gus.ID) })
	wantIs(t, err, store.ErrNotFound)
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		roles, err := tx.EffectiveRoles(ctx, fay.ID)
		equal(t, "fay's role after group removal", roles[tn.ID], store.RoleViewer)
		if err != nil {
			return err
		}
		roles, err = tx.EffectiveRoles(ctx, gus.ID)
		equal(t, "gus's role in Shop", roles[tn.ID], "")
		return err
	})

	// Deleting a group removes its roles.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectGroup, SubjectID: g.ID, Role: store.RoleMember}); err != nil {
			return err
		}
		return tx.DeleteGroup(ctx, g.ID)
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		members, _, err := tx.ListMembers(ctx, store.MemberFilter{TenantID: tn.ID})
		equal(t, "members after group delete", len(members), 1)
		return err
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectUser, SubjectID: fay.ID, Role: "owner"})
	})
	if err == nil {
		t.Fatal("SetRole accepted an unknown role")
	}
}
