package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func testTokens(t *testing.T, s store.Store) {
	u := mkUser(t, s, "hal")
	t0 := time.Now()
	live := store.Token{UserID: u.ID, TokenHash: "live", ExpiresAt: t0.Add(time.Hour), SourceIP: "10.0.0.1", UserAgent: "curl"}
	other := store.Token{UserID: u.ID, TokenHash: "other", ExpiresAt: t0.Add(2 * time.Hour)}
	old := store.Token{UserID: u.ID, TokenHash: "old", ExpiresAt: t0.Add(-time.Minute)}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, tk := range []*store.Token{&live, &other, &old} {
			if err := tx.CreateToken(ctx, tk); err != nil {
				return err
			}
		}
		return nil
	})
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateToken(ctx, &store.Token{UserID: u.ID, TokenHash: "live", ExpiresAt: farFuture})
	})
	equal(t, "conflict field", wantAs[*store.ConflictError](t, err).Field, "token_hash")
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateToken(ctx, &store.Token{UserID: "missing", TokenHash: "x", ExpiresAt: farFuture})
	})
	wantIs(t, err, store.ErrNotFound)

	read(t, s, func(ctx context.Context, tx store.Tx) error {
		auth, err := tx.GetTokenAuth(ctx, "live", t0)
		if err != nil {
			return err
		}
		if auth.Token != live || auth.User != u {
			t.Errorf("GetTokenAuth = %+v, want token %+v and user %+v", auth, live, u)
		}
		_, err = tx.GetTokenAuth(ctx, "old", t0)
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetTokenAuth(ctx, "live", live.ExpiresAt) // expired at exactly ExpiresAt
		wantIs(t, err, store.ErrNotFound)
		_, err = tx.GetTokenAuth(ctx, "nope", t0)
		wantIs(t, err, store.ErrNotFound)
		tokens, err := tx.ListTokens(ctx, u.ID, t0)
		if len(tokens) != 2 {
			t.Errorf("ListTokens = %d tokens, want 2 live ones", len(tokens))
		}
		return err
	})
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		n, err := tx.DeleteExpiredTokens(ctx, t0)
		equal(t, "expired tokens deleted", n, int64(1))
		if err != nil {
			return err
		}
		n, err = tx.DeleteUserTokens(ctx, u.ID, live.ID)
		equal(t, "other tokens deleted", n, int64(1))
		if err != nil {
			return err
		}
		got, err := tx.GetToken(ctx, live.ID)
		equal(t, "kept token", got.TokenHash, "live")
		if err != nil {
			return err
		}
		return tx.DeleteToken(ctx, live.ID)
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeleteToken(ctx, live.ID) })
	wantIs(t, err, store.ErrNotFound)
}

func testAPIKeys(t *testing.T, s store.Store) {
	u := mkUser(t, s, "ivy")
	tn, other := mkTenant(t, s, "Apps"), mkTenant(t, s, "Other")
	exp := time.Now().Add(time.Hour)
	k1 := store.APIKey{AppKey: "nak_b", SecretHash: "sb", UserID: u.ID, TenantID: tn.ID,
		Permissions: []string{"host:read", "tenant:read"}, Description: "ci", ExpiresAt: exp}
	k2 := store.APIKey{AppKey: "nak_a", SecretHash: "sa", UserID: u.ID, TenantID: tn.ID}
	k3 := store.APIKey{AppKey: "nak_c", SecretHash: "sc", UserID: u.ID, TenantID: other.ID}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, k := range []*store.APIKey{&k1, &k2, &k3} {
			if err := tx.CreateAPIKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateAPIKey(ctx, &store.APIKey{AppKey: "nak_a", SecretHash: "x", UserID: u.ID, TenantID: tn.ID})
	})
	equal(t, "conflict field", wantAs[*store.ConflictError](t, err).Field, "app_key")

	read(t, s, func(ctx context.Context, tx store.Tx) error {
		auth, err := tx.GetAPIKeyAuth(ctx, "nak_b")
		if err != nil {
			return err
		}
		if auth.User != u || auth.Key.SecretHash != "sb" || !slices.Equal(auth.Key.Permissions, k1.Permissions) ||
			!auth.Key.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) || !auth.Key.RevokedAt.IsZero() || auth.Key.Description != "ci" {
			t.Errorf("GetAPIKeyAuth = %+v", auth)
		}
		if !auth.Key.Usable(time.Now()) || auth.Key.Usable(exp.Add(time.Second)) {
			t.Errorf("Usable wrong for key expiring at %v", exp)
		}
		got, err := tx.GetAPIKey(ctx, "nak_a")
		if err != nil {
			return err
		}
		if got.Permissions == nil || len(got.Permissions) != 0 || !got.ExpiresAt.IsZero() {
			t.Errorf("GetAPIKey = %+v, want empty permissions, no expiry", got)
		}
		keys, _, err := tx.ListAPIKeys(ctx, store.APIKeyFilter{TenantID: tn.ID})
		equalList(t, "keys of tenant", names(keys, func(k store.APIKey) string { return k.AppKey }), []string{"nak_a", "nak_b"})
		_, err2 := tx.GetAPIKey(ctx, "nak_zzz")
		wantIs(t, err2, store.ErrNotFound)
		return err
	})
	at := time.Now()
	for range 2 { // revoking twice is fine
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RevokeAPIKey(ctx, "nak_b", at) })
	}
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		k, err := tx.GetAPIKey(ctx, "nak_b")
		if !k.RevokedAt.Equal(at.Truncate(time.Microsecond)) || k.Usable(at) {
			t.Errorf("after revoke: %+v", k)
		}
		return err
	})
	err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) error { return tx.RevokeAPIKey(ctx, "nak_zzz", at) })
	wantIs(t, err, store.ErrNotFound)
}

func testLoginThrottle(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fail := func(at time.Time) time.Time {
		t.Helper()
		var until time.Time
		write(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			until, err = tx.RecordLoginFailure(ctx, "jo", at)
			return err
		})
		return until
	}
	lockedUntil := func() time.Time {
		t.Helper()
		var until time.Time
		read(t, s, func(ctx context.Context, tx store.Tx) (err error) {
			until, err = tx.LoginLockedUntil(ctx, "jo")
			return err
		})
		return until
	}
	equal(t, "clean name locked until", lockedUntil(), time.Time{})

	// Failures spread over more than the window never lock.
	for i := range 8 {
		if until := fail(t0.Add(time.Duration(i) * 4 * time.Minute)); !until.IsZero() {
			t.Fatalf("failure %d spaced 4 minutes apart locked until %v", i+1, until)
		}
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ClearLoginFailures(ctx, "jo") })

	// Five in the window lock for a minute; the next lock doubles.
	t1 := t0.Add(time.Hour)
	for i := range 4 {
		if until := fail(t1.Add(time.Duration(i) * time.Second)); !until.IsZero() {
			t.Fatalf("failure %d locked until %v", i+1, until)
		}
	}
	at := t1.Add(4 * time.Second)
	equal(t, "first lock", fail(at), at.Add(store.LoginLockBase))
	equal(t, "LoginLockedUntil", lockedUntil(), at.Add(store.LoginLockBase))
	t2 := at.Add(2 * time.Minute)
	for i := range 4 {
		fail(t2.Add(time.Duration(i) * time.Second))
	}
	at = t2.Add(4 * time.Second)
	equal(t, "second lock", fail(at), at.Add(2*store.LoginLockBase))
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		lt, err := tx.GetLoginThrottle(ctx, "jo")
		equal(t, "locks", lt.Locks, 2)
		return err
	})

	// Locks never exceed the maximum.
	for range 5 {
		at = at.Add(time.Hour)
		for range store.LoginFailureLimit - 1 {
			fail(at)
		}
		if until := fail(at); until.Sub(at) > store.LoginLockMax {
			t.Fatalf("lock of %v exceeds %v", until.Sub(at), store.LoginLockMax)
		}
	}
	equal(t, "last lock", lockedUntil(), at.Add(store.LoginLockMax))

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ClearLoginFailures(ctx, "jo") })
	equal(t, "locked until after success", lockedUntil(), time.Time{})
	read(t, s, func(ctx context.Context, tx store.Tx) error {
		_, err := tx.GetLoginThrottle(ctx, "jo")
		wantIs(t, err, store.ErrNotFound)
		return nil
	})
}

// testLoginAttemptsConcurrent races many attempts on one name: no more
// than the failure limit may be admitted for checking, on either engine.
func testLoginAttemptsConcurrent(t *testing.T, s store.Store) {
	now := time.Now()
	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			var until time.Time
			err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (err error) {
				until, err = tx.BeginLoginAttempt(ctx, "racer", now)
				return err
			})
			switch {
			case err != nil:
				t.Errorf("begin login attempt: %v", err)
			case until.IsZero():
				admitted.Add(1)
			default:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if admitted.Load() != store.LoginFailureLimit || refused.Load() != 24-store.LoginFailureLimit {
		t.Fatalf("admitted %d, refused %d: want %d admitted", admitted.Load(), refused.Load(), store.LoginFailureLimit)
	}
	// A success clears the count: the next attempt is admitted.
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ClearLoginFailures(ctx, "racer") })
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		until, err := tx.BeginLoginAttempt(ctx, "racer", now)
		equal(t, "locked until after clearing", until, time.Time{})
		return err
	})
}

func testAuthEpoch(t *testing.T, s store.Store) {
	epoch := func() (e int64) {
		read(t, s, func(ctx context.Context, tx store.Tx) (err error) { e, err = tx.AuthEpoch(ctx); return err })
		return e
	}
	before := epoch()
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.BumpAuthEpoch(ctx) })
	if got := epoch(); got != before+1 {
		t.Fatalf("epoch %d after a bump from %d", got, before)
	}
	// A rolled-back transaction leaves it alone.
	err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.BumpAuthEpoch(ctx); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil || epoch() != before+1 {
		t.Fatalf("rolled-back bump: err %v, epoch %d", err, epoch())
	}
}
