// Package testpg starts a throwaway PostgreSQL server for tests: one server
// per test process, started on first use, and a fresh database for every
// [Start] call.
//
//	func TestMain(m *testing.M) { testpg.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := testpg.Start(t) // postgres://postgres@127.0.0.1:PORT/tN?sslmode=disable
//		...
//	}
//
// The initdb and pg_ctl binaries are looked up in $NIMBUS_TEST_PG_BIN, then
// $PATH, then /usr/local/bin, then /usr/lib/postgresql/*/bin. Without them
// tests skip, unless NIMBUS_TEST_REQUIRE_ALL=1 makes that a failure.
package testpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

var (
	startOnce sync.Once
	srv       *server
	startErr  error
	dbCounter atomic.Int64
)

// Start returns the DSN of a new, empty database on the shared test server,
// dropped when t ends. It skips t when PostgreSQL is not installed.
func Start(t testing.TB) string {
	t.Helper()
	startOnce.Do(func() { srv, startErr = startServer() })
	if startErr != nil {
		var missing *missingError
		if errors.As(startErr, &missing) && os.Getenv("NIMBUS_TEST_REQUIRE_ALL") != "1" {
			t.Skipf("testpg: %v", startErr)
		}
		t.Fatalf("testpg: %v", startErr)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCounter.Add(1))
	if err := srv.admin(fmt.Sprintf("CREATE DATABASE %s", name)); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.admin(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("testpg: drop database %s: %v", name, err)
		}
	})
	return srv.dsn(name)
}

// Main runs the tests of m and then stops the server, if one was started.
// Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the shared server and removes its files. Later Start calls
// fail.
func Stop() {
	startOnce.Do(func() { startErr = fmt.Errorf("server stopped") })
	if srv != nil {
		srv.stop()
		srv = nil
		startErr = fmt.Errorf("server stopped")
	}
}

// admin runs one statement on the server's postgres database.
func (s *server) admin(stmt string) error {
	db, err := sql.Open("pgx", s.dsn("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
