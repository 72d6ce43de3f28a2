package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/server"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
	"github.com/nimbus-cloud/nimbus/internal/testpg"
)

const adminPassword = "admin-secret-1"

// env is a running server over a throwaway store, with an admin client.
type env struct {
	t     testing.TB
	url   string
	store store.Store
	admin *client.Client
	srv   *server.Server
}

// reconcile runs the server's reconciler until the test ends.
func (e *env) reconcile() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.srv.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// engines lists the store engines every API test runs on.
var engines = []string{store.DialectSQLite, store.DialectPostgres}

// forEachEngine runs fn as a subtest on SQLite and on PostgreSQL.
func forEachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { fn(t, newEnv(t, engine)) })
	}
}

// newEnv starts a server on a new store of the given engine.
func newEnv(t testing.TB, engine string) *env {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "nimbus.db")
	if engine == store.DialectPostgres {
		dsn = testpg.Start(t)
	}
	return newEnvDSN(t, dsn)
}

// newEnvDSN starts a server on the store at dsn (which may be shared).
func newEnvDSN(t testing.TB, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, dsn, log)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := server.Bootstrap(ctx, st, server.BootstrapOptions{AdminPassword: adminPassword}); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &env{t: t, url: hs.URL, store: st, srv: srv}
	e.admin = e.login(server.AdminUser, adminPassword)
	return e
}

// login returns a client logged in as name.
func (e *env) login(name, password string) *client.Client {
	e.t.Helper()
	anon := e.anon()
	res, err := anon.API.LoginWithResponse(context.Background(), api.LoginRequest{Username: name, Password: password})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := client.Err(res.HTTPResponse, res.Body); err != nil {
		e.t.Fatalf("login %s: %v", name, err)
	}
	c, err := client.New(e.url, client.WithToken(res.JSON201.Token))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// anon returns a client without credentials.
func (e *env) anon() *client.Client {
	c, err := client.New(e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// result is a generated client call's answer, checked with ok.
type result[R interface{ StatusCode() int }] struct {
	res R
	err error
}

// call wraps a generated client call: call(c.API.XWithResponse(...)).ok(t).
func call[R interface{ StatusCode() int }](res R, err error) result[R] { return result[R]{res, err} }

// ok fails the test unless the call succeeded with a 2xx, and returns the answer.
func (r result[R]) ok(t testing.TB) R {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.res.StatusCode() >= 300 {
		t.Fatalf("status %d: %s", r.res.StatusCode(), rawBody(r.res))
	}
	return r.res
}

// do sends a raw request with the client's credentials, for tests that need
// malformed bodies the typed client cannot produce.
func (e *env) do(t testing.TB, c *client.Client, method, path, contentType string, payload io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, payload)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c != nil {
		if err := c.Authorize(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestMain(m *testing.M) { testpg.Main(m) }

// rawBody returns the Body field of a generated client response.
func rawBody(res any) string {
	v := reflect.ValueOf(res)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if f := v.FieldByName("Body"); f.IsValid() {
		return string(f.Bytes())
	}
	return "(no body)"
}

func ptr[T any](v T) *T { return &v }
