package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// serve starts a server answering every request with status and body, and
// reports each request's Authorization header on auth.
func serve(t *testing.T, tls bool, status int, contentType, body string) (*httptest.Server, chan string) {
	t.Helper()
	auth := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, auth
}

func TestProblemError(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        string
		notFound    bool
		conflict    bool
	}{
		{
			name:   "invalid field",
			status: 400, contentType: "application/problem+json",
			body: `{"type":"https://nimbus.dev/problems/invalid_field","title":"Invalid field","status":400,` +
				`"code":"invalid_field","field":"name","detail":"must start with a lowercase letter"}`,
			want: "invalid_field: name: must start with a lowercase letter",
		},
		{
			name:   "not found, title only",
			status: 404, contentType: "application/problem+json",
			body:     `{"type":"https://nimbus.dev/problems/not_found","title":"Not found","status":404,"code":"not_found"}`,
			want:     "not_found: Not found",
			notFound: true,
		},
		{
			name:   "batch conflicts",
			status: 409, contentType: "application/problem+json",
			body: `{"type":"https://nimbus.dev/problems/conflict","title":"Conflict","status":409,"code":"conflict",` +
				`"detail":"names taken","conflicts":["s01","s02","s03","s04","s05","s06","s07","s08","s09","s10","s11","s12"]}`,
			want:     "conflict: names taken (conflicts: s01, s02, s03, s04, s05, s06, s07, s08, s09, s10 and 2 more)",
			conflict: true,
		},
		{
			name:   "not a problem",
			status: 502, contentType: "text/html",
			body: "  <html>bad gateway</html>\n",
			want: "HTTP 502 Bad Gateway: <html>bad gateway</html>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := serve(t, false, tt.status, tt.contentType, tt.body)
			c, err := New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.API.GetUserWithResponse(context.Background(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			err = Err(res.HTTPResponse, res.Body)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Err = %v, want *Error", err)
			}
			if e.Status != tt.status {
				t.Errorf("Status = %d, want %d", e.Status, tt.status)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q\nwant %q", got, tt.want)
			}
			wrapped := fmt.Errorf("get user: %w", err)
			if IsNotFound(wrapped) != tt.notFound || IsConflict(wrapped) != tt.conflict {
				t.Errorf("IsNotFound = %v, IsConflict = %v", IsNotFound(wrapped), IsConflict(wrapped))
			}
		})
	}
}

func TestSuccess(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	body := fmt.Sprintf(`{"id":"u1","name":"alice","email":"","display_name":"","enabled":true,`+
		`"platform_admin":false,"personal_tenant":"alice","created_at":%q,"updated_at":%q}`,
		now.Format(time.RFC3339), now.Format(time.RFC3339))
	srv, _ := serve(t, false, http.StatusOK, "application/json", body)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.API.GetUserWithResponse(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := Err(res.HTTPResponse, res.Body); err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil || res.JSON200.Name != "alice" || !res.JSON200.CreatedAt.Equal(now) {
		t.Errorf("JSON200 = %+v", res.JSON200)
	}
	if IsNotFound(nil) || IsConflict(errors.New("x")) {
		t.Error("IsNotFound/IsConflict true for a non-API error")
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"none", nil, ""},
		{"token", []Option{WithToken("nmt_abc")}, "Bearer nmt_abc"},
		// base64("nak_k:nas_s")
		{"api key", []Option{WithAPIKey("nak_k", "nas_s")}, "Basic bmFrX2s6bmFzX3M="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, auth := serve(t, true, http.StatusNoContent, "application/json", "")
			c, err := New(srv.URL, append(tt.opts, WithInsecureSkipVerify())...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.API.LogoutWithResponse(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := Err(res.HTTPResponse, res.Body); err != nil {
				t.Fatal(err)
			}
			if got := <-auth; got != tt.want {
				t.Errorf("Authorization = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBatchPath(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"items":[],"count":0}`)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.API.BatchCreateUsersWithResponse(context.Background(), api.UserBatchCreate{
		Prefix: "stu", Range: "003-050", Password: "secret123",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Err(res.HTTPResponse, res.Body); err != nil {
		t.Fatal(err)
	}
	if path != "POST /api/v1/users:batch" {
		t.Errorf("request = %q", path)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts []Option
	}{
		{"nimbus.example:8443", nil},
		{"ftp://nimbus.example", nil},
		{"https://nimbus.example", []Option{WithToken("nmt_a"), WithAPIKey("nak_k", "nas_s")}},
		{"https://nimbus.example", []Option{WithHTTPClient(&http.Client{Transport: roundTripper(nil)}), WithInsecureSkipVerify()}},
	} {
		if _, err := New(tc.url, tc.opts...); err == nil {
			t.Errorf("New(%q) succeeded", tc.url)
		}
	}
	if err := Err(nil, nil); err == nil {
		t.Error("Err(nil, nil) = nil")
	}
}

// roundTripper is an http.RoundTripper that is not an *http.Transport.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewRefusesAPIPath(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:7070/api/v1", "https://nimbus.example/api/v1/"} {
		if _, err := New(u); err == nil || !strings.Contains(err.Error(), "without /api/v1") {
			t.Errorf("New(%q): %v, want a hint to drop /api/v1", u, err)
		}
	}
	if _, err := New("https://proxy.example/nimbus"); err != nil {
		t.Errorf("a path prefix of a proxy: %v", err)
	}
}
