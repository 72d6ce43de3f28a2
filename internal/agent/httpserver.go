package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// The agent's HTTP server answers the server only:
//
//	GET /v1/instances/{id}/logs?follow=&tail=&path=      websocket of log entries
//	GET /v1/instances/{id}/exec?command=…&command=…&tty= websocket of an exec session
//
// Every request carries "Authorization: Bearer <agent key>".

// Limits of the websocket streams.
const (
	// wsReadLimit bounds a message from the peer (stdin, control).
	wsReadLimit = 1 << 20
	// wsChunk bounds the payload of a message sent, well under the 32 KiB
	// that websocket libraries accept by default.
	wsChunk = 16 << 10
	// maxTail is the largest tail the API allows.
	maxTail = 100_000
)

// httpServer makes the agent's HTTP server; its requests end with ctx.
func (a *Agent) httpServer(ctx context.Context) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/instances/{id}/logs", a.serveLogs)
	mux.HandleFunc("GET /v1/instances/{id}/exec", a.serveExec)
	log := a.cfg.Logger.With("component", "agent-http")
	return &http.Server{
		Handler:           a.authorize(mux),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// authorize admits requests bearing the agent key, and counts them as
// streams for Run to wait for.
func (a *Agent) authorize(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + a.creds.AgentKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="nimbus-agent"`)
			http.Error(w, "missing or wrong agent key", http.StatusUnauthorized)
			return
		}
		a.streams.Add(1)
		defer a.streams.Done()
		next.ServeHTTP(w, r)
	})
}

// streamTarget finds the instance of a stream request and its driver, or
// answers 404.
func (a *Agent) streamTarget(w http.ResponseWriter, r *http.Request) (*instance, driver.Driver, bool) {
	id := r.PathValue("id")
	in, ok := a.lookup(id)
	if !ok {
		http.Error(w, "no instance "+strconv.Quote(id)+" on this host", http.StatusNotFound)
		return nil, nil, false
	}
	drv, err := in.driver()
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return nil, nil, false
	}
	return in, drv, true
}

// queryBool reads an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// closeReason fits an error into a websocket close reason (123 bytes).
func closeReason(err error) string {
	s := err.Error()
	if len(s) <= 123 {
		return s
	}
	return string(chunks([]byte(s), 120)[0]) + "..."
}

// chunks splits b into pieces of at most n bytes, not cutting UTF-8
// sequences where it can avoid it.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		cut := n
		for i := n; i > n-utf8.UTFMax && i > 0; i-- {
			if utf8.RuneStart(b[i]) {
				cut = i
				break
			}
		}
		out = append(out, b[:cut])
		b = b[cut:]
	}
	return append(out, b)
}
