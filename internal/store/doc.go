// Package store defines Nimbus's persistence contract: the [Store] and [Tx]
// interfaces, the plain row types they read and write, and the errors they
// return. It holds no SQL; package sqlstore implements it for SQLite and
// PostgreSQL, and package storetest checks any implementation.
//
// Every call runs inside [Store.Read] or [Store.Write]:
//
//	server handler
//	    │
//	    ├─ Read(ctx, fn)   fn(tx) on the read pool, no transaction (hot path)
//	    └─ Write(ctx, fn)  fn(tx) in one transaction; committed if fn returns nil
//	                          │
//	                          └─ tx.CreateUser, tx.ReserveQuota, tx.InsertAudit, ...
//
// Rows carry IDs (UUID v7 strings, assigned by the store when empty) and
// times truncated to microseconds in UTC. Errors are matched with errors.Is
// against [ErrNotFound], [ErrConflict], [ErrInUse], [ErrQuotaExceeded] and
// [ErrInvalidPageToken], or with errors.As for details.
package store
