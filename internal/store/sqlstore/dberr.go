package sqlstore

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// PostgreSQL error codes we react to.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

func sqliteCode(err error) (int, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}

func pgCode(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return "", false
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	if c, ok := sqliteCode(err); ok {
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	c, ok := pgCode(err)
	return ok && c == pgUniqueViolation
}

// isForeignKey reports a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	if c, ok := sqliteCode(err); ok {
		return c == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	c, ok := pgCode(err)
	return ok && c == pgForeignKeyViolation
}

// retryable reports an error after which the whole transaction may be retried.
func retryable(err error) bool {
	if errors.Is(err, errRaced) {
		return true
	}
	if c, ok := sqliteCode(err); ok {
		return c&0xff == sqlite3.SQLITE_BUSY
	}
	c, ok := pgCode(err)
	return ok && (c == pgSerializationFailure || c == pgDeadlockDetected)
}

// errRaced reports that a concurrent transaction took a name this one had
// checked as free. Write runs the transaction again, which then names the
// conflict properly.
var errRaced = errors.New("name taken by a concurrent transaction")

// conflictOr maps a unique violation to a *store.ConflictError on
// object.field = value, and wraps any other error with context.
func conflictOr(err error, object, field, value string) error {
	if isUnique(err) {
		return &store.ConflictError{Object: object, Field: field, Value: value}
	}
	return wrap(err, "insert "+object)
}
