package store

import (
	"context"
)

// Dialect names returned by [Store.Dialect].
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store is a handle on the Nimbus database. It is safe for concurrent use and
// keeps no data in memory: several servers may share one database.
type Store interface {
	// Read runs fn for queries only. It may run without a transaction on a
	// read pool, so consecutive queries need not see one snapshot.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in exactly one transaction, committed when fn returns nil
	// and rolled back otherwise. fn may run again when the database reports
	// a deadlock or serialization failure, so it must not have effects
	// outside the transaction. fn must not call Write itself.
	Write(ctx context.Context, fn func(Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Dialect reports the engine: [DialectSQLite] or [DialectPostgres].
	Dialect() string
	// Close releases the database connections.
	Close() error
}

// Tx is the set of operations available inside [Store.Read] and
// [Store.Write]. Inside Write on PostgreSQL, the single-row getters of
// mutable objects (users, tenants, groups, clusters, hosts) lock the row
// until the transaction ends, so read-modify-write is safe. After any error
// the transaction must be abandoned: return the error from fn.
type Tx interface {
	UserTx
	GroupTx
	TenantTx
	RoleTx
	TokenTx
	APIKeyTx
	ThrottleTx
	ClusterTx
	HostTx
	QuotaTx
	AuditTx
	InstanceTx
	AgentTx
	MetricTx
}
