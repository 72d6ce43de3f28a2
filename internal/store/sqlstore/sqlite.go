package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// SQLite connection settings. The writer sets WAL once for the file; every
// connection waits up to busyTimeoutMS for a lock instead of failing.
const (
	busyTimeoutMS   = 10000
	sqliteReadConns = 4
	sqliteWriterDSN = "?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_txlock=immediate"
	sqliteReaderDSN = "?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=query_only(1)"
)

func openSQLite(ctx context.Context, path string, logger *slog.Logger) (store.Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite: invalid path %q", path)
	}
	writeDSN := path + fmt.Sprintf(sqliteWriterDSN, busyTimeoutMS)
	w, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	if err := migrate(ctx, goose.DialectSQLite3, w, logger); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+fmt.Sprintf(sqliteReaderDSN, busyTimeoutMS))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite read pool: %w", err)
	}
	r.SetMaxOpenConns(sqliteReadConns)
	r.SetMaxIdleConns(sqliteReadConns)
	logger.Info("opened store", "dialect", store.DialectSQLite, "path", path)
	return &sqlStore{dialect: store.DialectSQLite, write: w, read: r, log: logger,
		readStmts: newStmtCache(r)}, nil
}
