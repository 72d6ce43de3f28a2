package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// PostgreSQL pool settings.
const (
	pgMaxConns     = 20
	pgMaxIdleConns = pgMaxConns // idle connections beyond it would be closed and reopened under load
	pgConnLifetime = 30 * time.Minute
)

func openPostgres(ctx context.Context, dsn string, logger *slog.Logger) (store.Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(pgMaxConns)
	db.SetMaxIdleConns(pgMaxIdleConns)
	db.SetConnMaxLifetime(pgConnLifetime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	locker, err := postgresLocker()
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, goose.DialectPostgres, db, logger, locker); err != nil {
		db.Close()
		return nil, err
	}
	logger.Info("opened store", "dialect", store.DialectPostgres)
	return &sqlStore{dialect: store.DialectPostgres, write: db, read: db, log: logger}, nil
}
