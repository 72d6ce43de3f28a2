package store

import (
	"context"
	"time"
)

// Login throttle policy: LoginFailureLimit failures within LoginFailureWindow
// lock the name for LoginLockBase, doubling with every further lock up to
// LoginLockMax, until a successful login clears the record.
const (
	LoginFailureLimit  = 5
	LoginFailureWindow = 15 * time.Minute
	LoginLockBase      = time.Minute
	LoginLockMax       = 15 * time.Minute
)

// LoginThrottle is the failure record of one user name, shared by all servers.
type LoginThrottle struct {
	Username    string
	Failures    int       // failures in the current window
	WindowStart time.Time // first failure of the current window
	LockedUntil time.Time // zero: never locked
	Locks       int       // locks since the last success
}

// ThrottleTx records failed logins.
type ThrottleTx interface {
	// BeginLoginAttempt admits one password check for the name at now. It
	// returns the end of the name's lock when the name is locked, and
	// checks nothing else. Otherwise it counts the attempt as a failure in
	// advance (a successful login clears it), so that concurrent attempts,
	// on any server, never check more passwords than the limit allows; it
	// returns the zero time.
	BeginLoginAttempt(ctx context.Context, username string, now time.Time) (lockedUntil time.Time, err error)
	// RecordLoginFailure counts a failed login at now and returns the time
	// the name is locked until (zero when not locked), atomically across servers.
	RecordLoginFailure(ctx context.Context, username string, now time.Time) (lockedUntil time.Time, err error)
	// LoginLockedUntil returns the end of the name's lock, zero when never locked.
	LoginLockedUntil(ctx context.Context, username string) (time.Time, error)
	// GetLoginThrottle returns the name's record; ErrNotFound when clean.
	GetLoginThrottle(ctx context.Context, username string) (LoginThrottle, error)
	// ClearLoginFailures forgets the name's failures and locks.
	ClearLoginFailures(ctx context.Context, username string) error
}
