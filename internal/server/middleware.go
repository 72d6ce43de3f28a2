package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/problem"
)

// reqInfo travels with a request so inner layers can tell outer ones what
// they learned (the matched route, the caller) for logs, metrics and audit.
type reqInfo struct {
	id        string
	ip        string
	userAgent string
	route     string
	principal *Principal
}

type reqInfoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outermost assigns a request ID, recovers panics, bounds the body, and logs
// and counts every request.
func (s *Server) outermost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: r.Header.Get("X-Request-Id"), ip: clientIP(r), userAgent: r.UserAgent()}
		if ri.id == "" || len(ri.id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			ri.id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "request_id", ri.id, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					problem.Write(sw, r, problem.Internal())
				}
			}
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			method := metricMethod(r.Method)
			s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(sw.status)).Inc()
			s.metrics.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
			if s.log.Enabled(r.Context(), slog.LevelDebug) || sw.status >= 500 {
				level := slog.LevelDebug
				if sw.status >= 500 {
					level = slog.LevelError
				}
				s.log.Log(r.Context(), level, "request", "request_id", ri.id, "method", r.Method,
					"path", r.URL.Path, "status", sw.status, "duration", elapsed)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// metricMethod bounds the method label: a caller inventing methods must
// not create metric series without end.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// recordRoute runs after routing and notes the matched pattern.
func recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = r.Pattern
		next.ServeHTTP(w, r)
	})
}
