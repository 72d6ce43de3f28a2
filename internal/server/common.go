package server

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// page turns the list parameters of a request into a store page.
func page(limit *int, token *string) store.Page {
	var p store.Page
	if limit != nil {
		p.Limit = *limit
	}
	if token != nil {
		p.Token = *token
	}
	return p
}

// pageErr names the page_token parameter when the store rejects it.
func pageErr(err error) error {
	if errors.Is(err, store.ErrInvalidPageToken) {
		return problem.Invalid("page_token", "is not a page token of this list; start again without it")
	}
	return err
}

// requirePlatformAdmin refuses callers who are not platform admins.
func requirePlatformAdmin(ctx context.Context) error {
	if !principalFrom(ctx).isPlatformAdmin() {
		return problem.Forbidden("only a platform admin may do this")
	}
	return nil
}

// tenantFor loads the tenant named name if the caller may read it, and
// checks perm there. An invisible tenant answers 404; a visible one where
// the caller lacks perm answers 403.
func tenantFor(ctx context.Context, tx store.Tx, name, perm string) (store.Tenant, error) {
	t, err := tx.GetTenantByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return t, problem.NotFound("tenant", name)
	}
	if err != nil {
		return t, err
	}
	p := principalFrom(ctx)
	if !p.canRead(t.ID) {
		return t, problem.NotFound("tenant", name)
	}
	if !p.can(t.ID, perm) {
		return t, problem.Forbidden("your role in tenant %q does not allow %s", name, perm)
	}
	return t, nil
}

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// sortBy sorts s by the string key of each element.
func sortBy[T any](s []T, key func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}

// ignoreNotFound drops the store's ErrNotFound.
func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
