package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	alice := mkUser(t, s, "alice")
	if alice.ID == "" || alice.CreatedAt.IsZero() || alice.UpdatedAt.IsZero() {
		t.Fatalf("CreateUser did not fill ID and times: %+v", alice)
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, err := tx.GetUserByName(ctx, "alice")
		if err != nil {
			return err
		}
		if got != alice {
			t.Errorf("GetUserByName = %+v, want %+v", got, alice)
		}
		if got, err = tx.GetUser(ctx, alice.ID); err != nil || got.Name != "alice" {
			t.Errorf("GetUser = %+v, %v", got, err)
		}
		personal, err := tx.GetTenantByName(ctx, alice.PersonalTenant())
		if err != nil {
			return err
		}
		equal(t, "personal tenant kind", personal.Kind, store.TenantPersonal)
		equal(t, "personal tenant owner", personal.OwnerUserID, alice.ID)
		equal(t, "personal tenant user count", personal.UserCount, 1)
		roles, err := tx.EffectiveRoles(ctx, alice.ID)
		if err != nil {
			return err
		}
		equal(t, "role in personal tenant", roles[personal.ID], store.RoleAdmin)
		_, err = tx.GetUserByName(ctx, "nobody")
		wantIs(t, err, store.ErrNotFound)
		return nil
	})

	// A name taken by a user or by any tenant is a conflict naming the field.
	mkTenant(t, s, "RD_Dept")
	for _, name := range []string{"alice", "RD_Dept"} {
		err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.CreateUser(ctx, &store.User{Name: name})
		})
		c := wantAs[*store.ConflictError](t, err)
		equal(t, "conflict field", c.Field, "name")
		equal(t, "conflict value", c.Value, name)
		wantIs(t, err, store.ErrConflict)
	}

	// Update.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		u, err := tx.GetUserByName(ctx, "alice")
		if err != nil {
			return err
		}
		u.DisplayName, u.Enabled, u.PlatformAdmin, u.PasswordHash = "Alice A.", false, true, "new-hash"
		return tx.UpdateUser(ctx, &u)
	})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		u, err := tx.GetUser(ctx, alice.ID)
		if err != nil {
			return err
		}
		if u.DisplayName != "Alice A." || u.Enabled || !u.PlatformAdmin || u.PasswordHash != "new-hash" {
			t.Errorf("after update: %+v", u)
		}
		if u.UpdatedAt.Before(alice.UpdatedAt) {
			t.Errorf("UpdatedAt went back: %v < %v", u.UpdatedAt, alice.UpdatedAt)
		}
		return nil
	})
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UpdateUser(ctx, &store.User{ID: "missing", Name: "missing"})
	})
	wantIs(t, err, store.ErrNotFound)

	// List filters.
	bob, carol := mkUser(t, s, "bob"), mkUser(t, s, "carol")
	mkUser(t, s, "bobby")
	rd := mkTenant(t, s, "Research")
	g := mkGroup(t, s, "devs")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SetRole(ctx, store.RoleAssignment{TenantID: rd.ID, SubjectKind: store.SubjectUser, SubjectID: bob.ID, Role: store.RoleMember}); err != nil {
			return err
		}
		if err := tx.AddGroupMember(ctx, g.ID, carol.ID); err != nil {
			return err
		}
		return tx.SetRole(ctx, store.RoleAssignment{TenantID: rd.ID, SubjectKind: store.SubjectGroup, SubjectID: g.ID, Role: store.RoleViewer})
	})
	enabled := true
	for _, tc := range []struct {
		f    store.UserFilter
		want []string
	}{
		{store.UserFilter{}, []string{"alice", "bob", "bobby", "carol"}},
		{store.UserFilter{NamePrefix: "bob"}, []string{"bob", "bobby"}},
		{store.UserFilter{Enabled: &enabled}, []string{"bob", "bobby", "carol"}},
		{store.UserFilter{TenantID: rd.ID}, []string{"bob", "carol"}},
	} {
		read(t, s, func(ctx context.Context, tx store.Tx) error {
			users, next, err := tx.ListUsers(ctx, tc.f)
			if err != nil {
				return err
			}
			equalList(t, fmt.Sprintf("ListUsers(%+v)", tc.f), names(users, userName), tc.want)
			equal(t, "next page token", next, "")
			return nil
		})
	}
}

func testDeleteUser(t *testing.T, s store.Store) {
	u := mkUser(t, s, "dave")
	g := mkGroup(t, s, "ops")
	tn := mkTenant(t, s, "Ops")
	c := mkCluster(t, s, "default", "")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.AddGroupMember(ctx, g.ID, u.ID); err != nil {
			return err
		}
		if err := tx.SetRole(ctx, store.RoleAssignment{TenantID: tn.ID, SubjectKind: store.SubjectUser, SubjectID: u.ID, Role: store.RoleAdmin}); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &store.Token{UserID: u.ID, TokenHash: "h1", ExpiresAt: farFuture}); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, &store.APIKey{AppKey: "nak_dave", SecretHash: "s", UserID: u.ID, TenantID: tn.ID})
	})
	var personal store.Tenant
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		personal, err = tx.GetTenantByName(ctx, "dave")
		return err
	})

	// Usage in the personal tenant blocks the delete.
	putQuota(t, s, personal.ID, c.ID, tier(0, 4, 1024, 1024, 100))
	r := store.QuotaRequest{TenantID: personal.ID, ClusterID: c.ID, Resources: store.Resources{CPU: 1}, OwnerKind: "instance", OwnerID: "i1"}
	if err := reserve(t, s, r); err != nil {
		t.Fatal(err)
	}
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	wantAs[*store.InUseError](t, err)
	wantIs(t, err, store.ErrInUse)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ReleaseQuota(ctx, "instance", "i1") })
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUser(ctx, u.ID)
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetTenantByName(ctx, "dave")
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetTokenAuth(ctx, "h1", now())
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetAPIKey(ctx, "nak_dave")
		wantIs(t, err, store.ErrNotFound)
		members, err := tx.ListGroupMembers(ctx, g.ID)
		equal(t, "group members after delete", len(members), 0)
		if err != nil {
			return err
		}
		got, err := tx.GetTenant(ctx, tn.ID)
		equal(t, "user count after delete", got.UserCount, 0)
		return err
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	wantIs(t, err, store.ErrNotFound)
}

// testBatchUsersRace runs overlapping batches at once: each one is created
// whole or refused with the names it clashes on, never failed otherwise.
func testBatchUsersRace(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	results := make([]error, 4)
	for b := range results {
		wg.Go(func() {
			batch := make([]store.User, 40)
			for i := range batch {
				batch[i] = store.User{Name: fmt.Sprintf("race%03d", b*30+i), Enabled: true, PasswordHash: "h"}
			}
			results[b] = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateUsers(ctx, batch) })
		})
	}
	wg.Wait()
	created := 0
	for _, err := range results {
		if err == nil {
			created++
			continue
		}
		conflict := wantAs[*store.BatchConflictError](t, err)
		if len(conflict.Names) == 0 {
			t.Errorf("a refused batch names no conflict")
		}
	}
	if created == 0 {
		t.Fatal("no batch was created")
	}
}

func testBatchUsers(t *testing.T, s store.Store) {
	batch := make([]store.User, 50)
	for i := range batch {
		batch[i] = store.User{Name: fmt.Sprintf("stud%03d", i+1), Enabled: true, PasswordHash: "h"}
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateUsers(ctx, batch) })
	if batch[0].ID == "" || batch[49].CreatedAt.IsZero() {
		t.Fatalf("CreateUsers did not fill IDs and times")
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		users, _, err := tx.ListUsers(ctx, store.UserFilter{NamePrefix: "stud", Page: store.Page{Limit: 1000}})
		equal(t, "batch users", len(users), 50)
		if err != nil {
			return err
		}
		tn, err := tx.GetTenantByName(ctx, "stud050")
		equal(t, "personal tenant kind", tn.Kind, store.TenantPersonal)
		return err
	})

	// Taken by a user, by a group tenant, and repeated in the batch: all
	// reported, nothing written.
	mkTenant(t, s, "stud102")
	conflicting := []store.User{{Name: "stud101"}, {Name: "stud010"}, {Name: "stud102"}, {Name: "stud103"}, {Name: "stud103"}, {Name: "stud020"}}
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateUsers(ctx, conflicting) })
	bc := wantAs[*store.BatchConflictError](t, err)
	wantIs(t, err, store.ErrConflict)
	equalList(t, "batch conflicts", bc.Names, []string{"stud010", "stud020", "stud102", "stud103"})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUserByName(ctx, "stud101")
		wantIs(t, err, store.ErrNotFound)
		return nil
	})
}
