package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// walk collects every page of a list, checking page sizes.
func walk[T any](t *testing.T, s store.Store, what string, limit, total int,
	list func(ctx context.Context, tx store.Tx, p store.Page) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	token := ""
	for page := 0; ; page++ {
		var items []T
		var next string
		read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			items, next, err = list(ctx, tx, store.Page{Limit: limit, Token: token})
			return err
		})
		if want := min(limit, total-len(all)); len(items) != want {
			t.Fatalf("%s page %d: %d items, want %d", what, page, len(items), want)
		}
		all = append(all, items...)
		if next == "" {
			break
		}
		token = next
	}
	if len(all) != total {
		t.Fatalf("%s: walked %d items, want %d", what, len(all), total)
	}
	return all
}

func testPagination(t *testing.T, s store.Store) {
	const total, limit = 60, 25
	users := make([]store.User, total)
	for i := range users {
		users[i] = store.User{Name: fmt.Sprintf("p%03d", (i*37)%total)} // inserted out of order
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.CreateUsers(ctx, users) })
	got := walk(t, s, "users", limit, total, func(ctx context.Context, tx store.Tx, p store.Page) ([]store.User, string, error) {
		return tx.ListUsers(ctx, store.UserFilter{Page: p})
	})
	gotNames := names(got, userName)
	if !slices.IsSorted(gotNames) || len(slices.Compact(slices.Clone(gotNames))) != total {
		t.Fatalf("user pages not sorted or repeated: %v", gotNames)
	}
	walk(t, s, "personal tenants", limit, total, func(ctx context.Context, tx store.Tx, p store.Page) ([]store.Tenant, string, error) {
		return tx.ListTenants(ctx, store.TenantFilter{Kind: store.TenantPersonal, Page: p})
	})

	c := mkCluster(t, s, "default", "")
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range total {
			h := store.Host{Name: fmt.Sprintf("host-%03d", i), ClusterID: c.ID, Labels: map[string]string{"even": fmt.Sprint(i%2 == 0)}}
			if err := tx.CreateHost(ctx, &h); err != nil {
				return err
			}
		}
		return nil
	})
	walk(t, s, "hosts", limit, total, func(ctx context.Context, tx store.Tx, p store.Page) ([]store.Host, string, error) {
		return tx.ListHosts(ctx, store.HostFilter{ClusterID: c.ID, Page: p})
	})
	evens := walk(t, s, "even hosts", 7, total/2, func(ctx context.Context, tx store.Tx, p store.Page) ([]store.Host, string, error) {
		return tx.ListHosts(ctx, store.HostFilter{Labels: []store.LabelTerm{{Key: "even", Op: store.LabelEquals, Value: "true"}}, Page: p})
	})
	equal(t, "last even host", evens[len(evens)-1].Name, "host-058")

	// Audit: newest first, ties on time broken by id.
	base := time.Now()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for i := range total {
			r := store.AuditRecord{Time: base.Add(time.Duration(i/3) * time.Second), Action: "host.create", Result: store.AuditSuccess, ObjectName: fmt.Sprint(i)}
			if err := tx.InsertAudit(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	})
	records := walk(t, s, "audit", limit, total, func(ctx context.Context, tx store.Tx, p store.Page) ([]store.AuditRecord, string, error) {
		return tx.ListAudit(ctx, store.AuditFilter{Page: p})
	})
	for i := 1; i < len(records); i++ {
		a, b := records[i-1], records[i]
		if a.Time.Before(b.Time) || (a.Time.Equal(b.Time) && a.ID <= b.ID) {
			t.Fatalf("audit records %d and %d out of order: %v %s, %v %s", i-1, i, a.Time, a.ID, b.Time, b.ID)
		}
	}

	// Tokens of another list, or garbage, are refused.
	var token string
	read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
		_, token, err = tx.ListUsers(ctx, store.UserFilter{Page: store.Page{Limit: 1}})
		return err
	})
	for _, bad := range []string{"garbage!", "e30", token} {
		err := s.Read(t.Context(), func(tx store.Tx) error {
			_, _, err := tx.ListHosts(t.Context(), store.HostFilter{Page: store.Page{Token: bad}})
			return err
		})
		wantIs(t, err, store.ErrInvalidPageToken)
	}
}
