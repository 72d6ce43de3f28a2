// Package migrations holds Nimbus's database schema as goose SQL migrations,
// one portable set for SQLite and PostgreSQL: TEXT ids, BIGINT unix
// microsecond times, BOOLEAN flags and DOUBLE PRECISION cpu amounts.
package migrations

import "embed"

// FS holds the migration files at its root.
//
//go:embed *.sql
var FS embed.FS
