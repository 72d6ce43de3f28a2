// Package server is the Nimbus API server: it authenticates each request,
// validates it against the OpenAPI document, authorizes it by the caller's
// roles, and serves it from the store, recording every mutation in the audit
// log in the same transaction.
//
//	request ─► outermost (request ID, body limit, logs, metrics)
//	        ─► authenticate (token or API key ─► Principal)
//	        ─► requestValidator (OpenAPI: types, formats, unknown fields)
//	        ─► strict handler (api.StrictServerInterface, one file per resource)
//	        ─► store.Write(tx: mutation + audit) / store.Read
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/google/uuid"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// Options configure a Server.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// TokenTTL is the default lifetime of login tokens (default 24 h).
	TokenTTL time.Duration
	// Now returns the current time (default time.Now); tests may fix it.
	Now func() time.Time
	// AdvertiseURL is the server's URL as agents reach it, printed in join
	// commands (default http://127.0.0.1:7070).
	AdvertiseURL string
}

// Server serves the Nimbus REST API. Beyond metrics it keeps only a cache of
// resolved credentials, checked against the store on every request, so
// several servers may share one database.
type Server struct {
	store    store.Store
	log      *slog.Logger
	tokenTTL time.Duration
	now      func() time.Time
	metrics  *metrics
	creds    *credCache
	handler  http.Handler
	wake     *wakeup
	// holder names this server for the reconciler lease; leading is when
	// it took the lease (zero while it does not hold it).
	holder       string
	leaderMu     sync.Mutex
	leading      time.Time
	advertiseURL string
	// pendingSeen is the capacity print of the last pending pass that
	// placed nothing: the next pass runs only when it changed.
	pendingSeen atomic.Uint64
	// drainNoted maps an instance a drain could not move to the reason
	// last put in its timeline, so that it is said once.
	drainNoted sync.Map
}

// handlers implements the generated strict server interface.
type handlers struct{ *Server }

var _ api.StrictServerInterface = handlers{}

// New builds a server over opts.Store.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: no store")
	}
	s := &Server{
		store:        opts.Store,
		log:          opts.Logger,
		tokenTTL:     opts.TokenTTL,
		now:          opts.Now,
		metrics:      newMetrics(),
		creds:        newCredCache(),
		wake:         newWakeup(),
		holder:       uuid.Must(uuid.NewV7()).String(),
		advertiseURL: opts.AdvertiseURL,
	}
	if s.advertiseURL == "" {
		s.advertiseURL = "http://127.0.0.1:7070"
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.tokenTTL <= 0 {
		s.tokenTTL = 24 * time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics.registry.MustRegister(usageCollector{s})
	spec, err := api.Spec()
	if err != nil {
		return nil, fmt.Errorf("load API document: %w", err)
	}
	mux := http.NewServeMux()
	strict := api.NewStrictHandlerWithOptions(handlers{s}, []api.StrictMiddlewareFunc{withHTTP}, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			problem.Write(w, r, problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "%s", err))
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			problem.Write(w, r, s.toProblem(r.Context(), err))
		},
	})
	api.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		BaseRouter:  mux,
		Middlewares: []api.MiddlewareFunc{recordRoute},
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			problem.Write(w, r, problem.New(http.StatusBadRequest, problem.CodeInvalidField, "%s", err))
		},
	})
	apiHandler := s.authenticate(requestValidator(spec)(mux))

	root := http.NewServeMux()
	root.Handle("/api/", apiHandler)
	root.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = r.Pattern
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(api.SpecJSON())
	})
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = r.Pattern
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	root.HandleFunc("GET /readyz", s.readyz)
	root.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, problem.New(http.StatusNotFound, problem.CodeNotFound, "no such page; the API lives under /api/v1"))
	})
	s.handler = s.outermost(root)
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// readyz answers 200 when the store answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	infoFrom(r.Context()).route = r.Pattern
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
