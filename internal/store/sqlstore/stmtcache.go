package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxCachedStmts bounds the statement cache: queries built with a variable
// number of placeholders beyond it are prepared for each use.
const maxCachedStmts = 512

// stmtCache keeps one prepared statement per query text for a pool, so
// SQLite parses and plans each query once per connection instead of on every
// call (parsing was half of the CPU time of a token-authenticated read).
// PostgreSQL needs none: pgx caches prepared statements per connection.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // query text -> *sql.Stmt
	n  atomic.Int64
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db} }

// get returns the prepared statement for q, or nil when the cache is full.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := c.m.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	if c.n.Load() >= maxCachedStmts {
		return nil, nil
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	c.n.Add(1)
	return s, nil
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.m.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}
