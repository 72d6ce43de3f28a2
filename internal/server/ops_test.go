package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

// TestOperationalEndpoints checks the endpoints beside the API: health,
// readiness, Prometheus metrics and the API document.
func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t, store.DialectSQLite)
	get := func(path string) (int, string, string) {
		res, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(raw)
	}
	if code, _, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, _, body := get("/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz: %d %s", code, body)
	}
	code, ctype, body := get("/api/v1/openapi.json")
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if code != 200 || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &doc) != nil ||
		!strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths["/api/v1/tenants"] == nil {
		t.Errorf("/api/v1/openapi.json: %d %s, openapi %q, %d paths", code, ctype, doc.OpenAPI, len(doc.Paths))
	}
	// The admin's login and the calls above are counted by route and code.
	code, _, body = get("/metrics")
	for _, want := range []string{
		`nimbus_http_requests_total{code="201",method="POST",route="POST /api/v1/auth/login"} 1`,
		`nimbus_logins_total{result="success"} 1`,
		"nimbus_http_request_duration_seconds_bucket",
		"go_goroutines",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
