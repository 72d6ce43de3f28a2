package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func testAudit(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []store.AuditRecord{
		{Time: t0, ActorName: "root", Action: "user.create", ObjectType: "user", ObjectName: "amy", Result: store.AuditSuccess},
		{Time: t0.Add(time.Minute), ActorName: "amy", TenantID: "t1", TenantName: "One", Action: "quota.update", ObjectType: "quota", ObjectName: "default", Result: store.AuditSuccess},
		{Time: t0.Add(2 * time.Minute), ActorName: "amy", APIKey: "nak_x", TenantID: "t2", TenantName: "Two", Action: "host.label", ObjectType: "host", ObjectName: "h1", Result: store.AuditFailure, ErrorCode: "forbidden", RequestID: "r1", SourceIP: "10.1.1.1"},
		{Time: t0.Add(3 * time.Minute), ActorName: "root", TenantID: "t1", TenantName: "One", Action: "user.delete", ObjectType: "user", ObjectName: "bo", Result: store.AuditSuccess},
		{Time: t0.Add(4 * time.Minute), ActorName: "root", Action: "users.batch", ObjectType: "user", Result: store.AuditSuccess},
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range recs {
			if err := tx.InsertAudit(ctx, &recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	actions := func(rs []store.AuditRecord) string {
		return strings.Join(names(rs, func(r store.AuditRecord) string { return r.Action }), " ")
	}
	for _, tc := range []struct {
		f    store.AuditFilter
		want string
	}{
		{store.AuditFilter{}, "users.batch user.delete host.label quota.update user.create"},
		{store.AuditFilter{TenantIDs: []string{"t1", "t2"}}, "user.delete host.label quota.update"},
		{store.AuditFilter{TenantIDs: []string{}}, ""},
		{store.AuditFilter{Actor: "amy"}, "host.label quota.update"},
		{store.AuditFilter{Action: "user."}, "user.delete user.create"},
		{store.AuditFilter{Action: "user*"}, "users.batch user.delete user.create"},
		{store.AuditFilter{Action: "user"}, ""},
		{store.AuditFilter{Action: "quota.update"}, "quota.update"},
		{store.AuditFilter{ObjectType: "user", ObjectName: "bo"}, "user.delete"},
		{store.AuditFilter{Result: store.AuditFailure}, "host.label"},
		{store.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, "host.label quota.update"},
		{store.AuditFilter{Actor: "root", TenantIDs: []string{"t1"}, Since: t0}, "user.delete"},
	} {
		read(t, s, func(ctx context.Context, tx store.Tx) error {
			got, _, err := tx.ListAudit(ctx, tc.f)
			equal(t, fmt.Sprintf("ListAudit(%+v)", tc.f), actions(got), tc.want)
			return err
		})
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		got, _, err := tx.ListAudit(ctx, store.AuditFilter{Result: store.AuditFailure})
		if len(got) == 1 && got[0] != recs[2] {
			t.Errorf("record read back as %+v, want %+v", got[0], recs[2])
		}
		return err
	})
}

func testWriteRollsBack(t *testing.T, s store.Store) {
	boom := fmt.Errorf("boom")
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.CreateUser(ctx, &store.User{Name: "ghost"}); err != nil {
			return err
		}
		return boom
	})
	wantIs(t, err, boom)
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetUserByName(ctx, "ghost")
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetTenantByName(ctx, "ghost")
		wantIs(t, err, store.ErrNotFound)
		return nil
	})
}

func testPingAndDialect(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if d := s.Dialect(); d != store.DialectSQLite && d != store.DialectPostgres {
		t.Errorf("Dialect() = %q", d)
	}
}
