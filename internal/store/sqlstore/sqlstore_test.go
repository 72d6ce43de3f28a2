package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
	"github.com/nimbus-cloud/nimbus/internal/store/storetest"
	"github.com/nimbus-cloud/nimbus/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func open(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, "sqlite:"+filepath.Join(t.TempDir(), "nimbus.db"))
	})
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, testpg.Start(t)) })
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"", "mysql://x", "sqlite:", "sqlite:/tmp/a?b"} {
		if s, err := sqlstore.Open(context.Background(), dsn, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

// Read on SQLite uses query-only connections: a write there fails instead
// of bypassing the single writer.
func TestSQLiteReadIsReadOnly(t *testing.T) {
	s := open(t, "sqlite:"+filepath.Join(t.TempDir(), "nimbus.db"))
	err := s.Read(t.Context(), func(tx store.Tx) error {
		return tx.CreateUser(t.Context(), &store.User{Name: "sneaky"})
	})
	if err == nil {
		t.Fatal("write through Read succeeded")
	}
}

// Several servers opening one PostgreSQL database at once migrate it once.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := testpg.Start(t)
	const servers = 4
	errs := make(chan error, servers)
	stores := make(chan store.Store, servers)
	for range servers {
		go func() {
			s, err := sqlstore.Open(context.Background(), dsn, nil)
			if err == nil {
				stores <- s
			}
			errs <- err
		}()
	}
	for range servers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stores)
	for s := range stores {
		s.Close()
	}
}

// Reopening an existing SQLite file keeps its data and applies no migration twice.
func TestSQLiteReopen(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "nimbus.db")
	s, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateUser(t.Context(), &store.User{Name: "kept"}) })
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, dsn)
	err = s.Read(t.Context(), func(tx store.Tx) error {
		_, err := tx.GetUserByName(t.Context(), "kept")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
