package testpg

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestStart(t *testing.T) {
	dsn1, dsn2 := Start(t), Start(t)
	if dsn1 == dsn2 {
		t.Fatalf("two Start calls returned the same database %s", dsn1)
	}
	for _, dsn := range []string{dsn1, dsn2} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "CREATE TABLE t (x INT)"); err != nil {
			t.Fatalf("fresh database %s: %v", dsn, err)
		}
	}
}

func TestFindBinPrefersEnv(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"initdb", "pg_ctl"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("NIMBUS_TEST_PG_BIN", dir)
	got, err := findBin()
	if err != nil || got != dir {
		t.Fatalf("findBin() = %q, %v; want %q", got, err, dir)
	}
}
