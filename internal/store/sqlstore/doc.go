// Package sqlstore implements [store.Store] over database/sql for SQLite
// (modernc.org/sqlite, pure Go) and PostgreSQL (pgx through its stdlib
// driver). Queries are written once with ? placeholders; rebind turns them
// into $n for PostgreSQL.
//
//	Open("sqlite:/var/lib/nimbus/nimbus.db")      one writer connection (BEGIN IMMEDIATE)
//	                                              + a read pool of 4 (query_only), WAL
//	Open("postgres://user@host/nimbus")           one pgx pool for reads and writes;
//	                                              migrations under an advisory lock
//
// Both engines run the same goose migrations from package migrations. The
// store keeps no data in memory, so several servers may share a PostgreSQL
// database. Files are one per entity; the SQL of an entity lives next to its
// scanning code.
package sqlstore
