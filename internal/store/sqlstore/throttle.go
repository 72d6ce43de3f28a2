package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func (t *tx) RecordLoginFailure(ctx context.Context, username string, now time.Time) (time.Time, error) {
	nowUS := now.UnixMicro()
	windowStart := now.Add(-store.LoginFailureWindow).UnixMicro()
	// One upsert counts the failure atomically; a window that has expired
	// starts over at 1.
	var failures, locks int
	var lockedUntil int64
	err := t.queryRow(ctx, `INSERT INTO login_failures (username, failures, window_start, locked_until, locks)
		VALUES (?, 1, ?, 0, 0)
		ON CONFLICT (username) DO UPDATE SET
			failures = CASE WHEN login_failures.window_start <= ? THEN 1 ELSE login_failures.failures + 1 END,
			window_start = CASE WHEN login_failures.window_start <= ? THEN excluded.window_start ELSE login_failures.window_start END
		RETURNING failures, locks, locked_until`, username, nowUS, windowStart, windowStart).Scan(&failures, &locks, &lockedUntil)
	if err != nil {
		return time.Time{}, wrap(err, "record login failure")
	}
	if failures >= store.LoginFailureLimit {
		until := now.Add(lockDuration(locks))
		lockedUntil = until.UnixMicro()
		_, err := t.exec(ctx, `UPDATE login_failures SET failures = 0, window_start = ?, locked_until = ?, locks = locks + 1
			WHERE username = ?`, nowUS, lockedUntil, username)
		if err != nil {
			return time.Time{}, wrap(err, "lock login")
		}
	}
	if lockedUntil <= nowUS {
		return time.Time{}, nil
	}
	return fromMicros(lockedUntil), nil
}

// lockDuration is the length of the lock after locks earlier ones.
func lockDuration(locks int) time.Duration {
	d := store.LoginLockBase
	for range locks {
		d *= 2
		if d >= store.LoginLockMax {
			return store.LoginLockMax
		}
	}
	return d
}

func (t *tx) LoginLockedUntil(ctx context.Context, username string) (time.Time, error) {
	lt, err := t.GetLoginThrottle(ctx, username)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, nil
		}
		return time.Time{}, err
	}
	return lt.LockedUntil, nil
}

func (t *tx) GetLoginThrottle(ctx context.Context, username string) (store.LoginThrottle, error) {
	lt := store.LoginThrottle{Username: username}
	var window, until int64
	err := t.queryRow(ctx, "SELECT failures, window_start, locked_until, locks FROM login_failures WHERE username = ?", username).
		Scan(&lt.Failures, &window, &until, &lt.Locks)
	if err != nil {
		return store.LoginThrottle{}, notFound(err, "login throttle", fmt.Sprintf("of %q", username))
	}
	lt.WindowStart = fromMicros(window)
	if until > 0 {
		lt.LockedUntil = fromMicros(until)
	}
	return lt, nil
}

func (t *tx) ClearLoginFailures(ctx context.Context, username string) error {
	_, err := t.exec(ctx, "DELETE FROM login_failures WHERE username = ?", username)
	return wrap(err, "clear login failures")
}

func (t *tx) BeginLoginAttempt(ctx context.Context, username string, now time.Time) (time.Time, error) {
	// Make sure the row exists, then hold it until the transaction ends:
	// on PostgreSQL the row lock orders concurrent attempts; SQLite's writer
	// does so already.
	if _, err := t.exec(ctx, `INSERT INTO login_failures (username, failures, window_start, locked_until, locks)
		VALUES (?, 0, ?, 0, 0) ON CONFLICT (username) DO NOTHING`, username, now.UnixMicro()); err != nil {
		return time.Time{}, wrap(err, "begin login attempt")
	}
	var until int64
	if err := t.queryRow(ctx, "SELECT locked_until FROM login_failures lf WHERE username = ?"+t.lockRow("lf"), username).
		Scan(&until); err != nil {
		return time.Time{}, wrap(err, "begin login attempt")
	}
	if until > now.UnixMicro() {
		return fromMicros(until), nil
	}
	_, err := t.RecordLoginFailure(ctx, username, now)
	return time.Time{}, err
}
