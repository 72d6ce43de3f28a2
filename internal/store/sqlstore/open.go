package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/store/migrations"
)

// Open connects to the database named by dsn, either "sqlite:PATH" or a
// "postgres://" / "postgresql://" URL, and brings its schema up to date.
// A nil logger discards logs.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (store.Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), logger)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, logger)
	}
	return nil, errors.New("open store: dsn must start with sqlite: or postgres://")
}

// migrate applies pending migrations to db.
func migrate(ctx context.Context, dialect goose.Dialect, db *sql.DB, logger *slog.Logger, opts ...goose.ProviderOption) error {
	opts = append(opts, goose.WithDisableGlobalRegistry(true))
	p, err := goose.NewProvider(dialect, db, migrations.FS, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		logger.Info("applied migration", "source", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// postgresLocker serializes migrations of servers starting together.
func postgresLocker() (goose.ProviderOption, error) {
	l, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	return goose.WithSessionLocker(l), nil
}

// sqlStore is the [store.Store] of both engines.
type sqlStore struct {
	dialect string
	write   *sql.DB // SQLite: one connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: query-only pool; PostgreSQL: same as write
	log     *slog.Logger
	// readStmts caches prepared statements of the SQLite read pool (nil on
	// PostgreSQL). The writer has one connection, held by the open
	// transaction, so its statements cannot be prepared on the pool.
	readStmts *stmtCache
}

func (s *sqlStore) Dialect() string { return s.dialect }

func (s *sqlStore) Ping(ctx context.Context) error { return s.read.PingContext(ctx) }

func (s *sqlStore) Close() error {
	if s.readStmts != nil {
		s.readStmts.close()
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

func (s *sqlStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	return fn(&tx{q: s.read, dialect: s.dialect, stmts: s.readStmts})
}

// maxWriteAttempts bounds retries of a transaction the database refused
// for a deadlock, serialization failure or busy database.
const maxWriteAttempts = 5

func (s *sqlStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || attempt == maxWriteAttempts || !retryable(err) {
			return err
		}
		s.log.Debug("retrying transaction", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

func (s *sqlStore) writeOnce(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&tx{q: sqlTx, dialect: s.dialect, write: true}); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			s.log.Warn("rollback failed", "err", rbErr)
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
