package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx implements [store.Tx] on a transaction (Write) or a pool (Read).
type tx struct {
	q       querier
	dialect string
	write   bool
	// stmts, when set, holds prepared statements of the pool q is.
	stmts *stmtCache
}

var _ store.Tx = (*tx)(nil)

func (t *tx) sql(q string) string {
	if t.dialect == store.DialectPostgres {
		return rebind(q)
	}
	return q
}

// prepared returns the cached statement for q, or nil when statements are
// not cached.
func (t *tx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if t.stmts == nil {
		return nil, nil
	}
	return t.stmts.get(ctx, q)
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = t.sql(q)
	if s, err := t.prepared(ctx, q); err != nil || s != nil {
		if err != nil {
			return nil, err
		}
		return s.ExecContext(ctx, args...)
	}
	return t.q.ExecContext(ctx, q, args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = t.sql(q)
	if s, err := t.prepared(ctx, q); err != nil || s != nil {
		if err != nil {
			return nil, err
		}
		return s.QueryContext(ctx, args...)
	}
	return t.q.QueryContext(ctx, q, args...)
}

// queryRow runs q for one row. A failure to prepare q surfaces at Scan, as
// QueryRowContext's own errors do.
func (t *tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = t.sql(q)
	if s, err := t.prepared(ctx, q); err == nil && s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.q.QueryRowContext(ctx, q, args...)
}

// execN runs a statement and returns the number of rows it affected.
func (t *tx) execN(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// lockRow returns the clause that locks the selected row of table alias
// until the end of a PostgreSQL write transaction. SQLite's writer holds
// the database lock already. The lock is FOR NO KEY UPDATE: IDs never
// change, and a stronger lock would also block the foreign key checks of
// rows that refer to the locked one (an instance or host of a locked
// cluster), which deadlocks against transactions that lock in the other
// order.
func (t *tx) lockRow(alias string) string {
	if t.write && t.dialect == store.DialectPostgres {
		return " FOR NO KEY UPDATE OF " + alias
	}
	return ""
}

// exists reports whether q returns a row.
func (t *tx) exists(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := t.queryRow(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// wrap adds context to a database error.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// notFound maps sql.ErrNoRows to a *store.NotFoundError.
func notFound(err error, object, key string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &store.NotFoundError{Object: object, Key: key}
	}
	return wrap(err, "get "+object+" "+key)
}

// newID returns a fresh UUID v7 string.
func newID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// fillID sets *id to a new ID when empty.
func fillID(id *string) {
	if *id == "" {
		*id = newID()
	}
}

// stamp sets *t to now when zero and truncates it to what the database keeps.
func stamp(t *time.Time) {
	if t.IsZero() {
		*t = time.Now()
	}
	*t = fromMicros(t.UnixMicro())
}

// now returns the current time as the database keeps it.
func now() time.Time { return fromMicros(time.Now().UnixMicro()) }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores a zero time as NULL.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromNullMicros reads a nullable time; NULL is the zero time.
func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// nullString stores an empty string as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// placeholders returns "?, ?, ..." for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// anySlice converts strings to query arguments.
func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// insertChunk is the most rows one multi-row INSERT carries.
const insertChunk = 100

// insertRows inserts rows into table in multi-row statements; suffix is
// appended to each (e.g. an ON CONFLICT clause).
func (t *tx) insertRows(ctx context.Context, table, cols string, rows [][]any, suffix string) error {
	for len(rows) > 0 {
		n := min(len(rows), insertChunk)
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, cols)
		var args []any
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + placeholders(len(r)) + ")")
			args = append(args, r...)
		}
		b.WriteString(suffix)
		if _, err := t.exec(ctx, b.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
