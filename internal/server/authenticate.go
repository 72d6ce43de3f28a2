package server

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// publicPaths answer without credentials.
var publicPaths = map[string]bool{
	"/api/v1/auth/login":   true,
	"/api/v1/agent/join":   true,
	"/api/v1/openapi.json": true,
}

// authenticate resolves the caller of every API request from a session token
// (`Authorization: Bearer nmt_...`) or an API key (HTTP Basic
// `nak_...:nas_...`), and refuses the request when neither is valid.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publicPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		p, err := s.resolve(r)
		if err != nil {
			var pe *problem.Error
			switch {
			case errors.As(err, &pe):
			case r.Context().Err() != nil:
				pe = problem.New(499, "canceled", "request canceled") // the client went away
			default:
				s.log.ErrorContext(r.Context(), "authenticate", "err", err)
				pe = problem.Internal()
			}
			problem.Write(w, r, pe)
			return
		}
		if agentCall := strings.HasPrefix(r.URL.Path, "/api/v1/agent/"); agentCall != (p.HostID != "") {
			msg := "host credentials are for the Agent calls only"
			if agentCall {
				msg = "the Agent calls take a host credential (`nhc_...`), as `nimbus agent` sends"
			}
			problem.Write(w, r, problem.Forbidden("%s", msg))
			return
		}
		infoFrom(r.Context()).principal = p
		next.ServeHTTP(w, r)
	})
}

var errNoCredentials = problem.Unauthenticated("no credentials: log in with `nimbus login`, or send `Authorization: Bearer <token>` or an API key as HTTP Basic")

func (s *Server) resolve(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		tok = strings.TrimSpace(tok)
		if strings.HasPrefix(tok, auth.HostCredPrefix) {
			return s.resolveHost(r, tok)
		}
		return s.resolveToken(r, tok)
	}
	if appKey, secret, ok := r.BasicAuth(); ok {
		return s.resolveAPIKey(r, appKey, secret)
	}
	return nil, errNoCredentials
}

// resolveCached returns the principal cached under key while the store's
// auth epoch stands still, else resolves it afresh with resolve (which also
// says until when it may be cached) and caches it.
func (s *Server) resolveCached(r *http.Request, key string, resolve func(tx store.Tx, now time.Time) (*Principal, time.Time, error)) (*Principal, error) {
	var p *Principal
	err := s.store.Read(r.Context(), func(tx store.Tx) error {
		now := s.now()
		epoch, err := tx.AuthEpoch(r.Context())
		if err != nil {
			return err
		}
		if cached, ok := s.creds.get(key, epoch, now); ok {
			p = cached
			return nil
		}
		var expires time.Time
		if p, expires, err = resolve(tx, now); err != nil {
			return err
		}
		s.creds.put(key, p, epoch, expires, now)
		return nil
	})
	return p, err
}

func (s *Server) resolveToken(r *http.Request, tok string) (*Principal, error) {
	expired := problem.Unauthenticated("token is invalid or expired: log in again with `nimbus login`")
	if !auth.LooksLikeToken(tok) {
		return nil, expired
	}
	hash := auth.HashSecret(tok)
	return s.resolveCached(r, "t:"+hash, func(tx store.Tx, now time.Time) (*Principal, time.Time, error) {
		ta, err := tx.GetTokenAuth(r.Context(), hash, now)
		if errors.Is(err, store.ErrNotFound) {
			return nil, time.Time{}, expired
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if !ta.User.Enabled {
			return nil, time.Time{}, problem.Unauthenticated("user %q is disabled: ask a platform admin", ta.User.Name)
		}
		roles, err := tx.EffectiveRoles(r.Context(), ta.User.ID)
		if err != nil {
			return nil, time.Time{}, err
		}
		return &Principal{UserID: ta.User.ID, UserName: ta.User.Name, PlatformAdmin: ta.User.PlatformAdmin,
			TokenID: ta.Token.ID, Roles: roles}, ta.Token.ExpiresAt, nil
	})
}

func (s *Server) resolveAPIKey(r *http.Request, appKey, secret string) (*Principal, error) {
	bad := problem.Unauthenticated("API key is invalid, revoked or expired")
	if !auth.LooksLikeAppKey(appKey) || !auth.LooksLikeAppSecret(secret) {
		return nil, bad
	}
	secretHash := auth.HashSecret(secret)
	return s.resolveCached(r, "k:"+appKey+":"+secretHash, func(tx store.Tx, now time.Time) (*Principal, time.Time, error) {
		ka, err := tx.GetAPIKeyAuth(r.Context(), appKey)
		if errors.Is(err, store.ErrNotFound) {
			return nil, time.Time{}, bad
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		if subtle.ConstantTimeCompare([]byte(ka.Key.SecretHash), []byte(secretHash)) != 1 ||
			!ka.Key.Usable(now) || !ka.User.Enabled {
			return nil, time.Time{}, bad
		}
		roles, err := tx.EffectiveRoles(r.Context(), ka.User.ID)
		if err != nil {
			return nil, time.Time{}, err
		}
		return &Principal{UserID: ka.User.ID, UserName: ka.User.Name, PlatformAdmin: ka.User.PlatformAdmin,
			AppKey: ka.Key.AppKey, KeyTenantID: ka.Key.TenantID, KeyPerms: ka.Key.Permissions, Roles: roles}, ka.Key.ExpiresAt, nil
	})
}

// resolveHost authenticates an agent by its host credential. Host
// principals hold no tenant roles: they may only make the Agent calls.
func (s *Server) resolveHost(r *http.Request, cred string) (*Principal, error) {
	bad := problem.Unauthenticated("host credential is invalid or the host was removed: join the host again with a new `nimbus host join-command`")
	if !auth.LooksLikeHostCredential(cred) {
		return nil, bad
	}
	var p *Principal
	err := s.store.Read(r.Context(), func(tx store.Tx) error {
		h, err := tx.GetHostByCredential(r.Context(), auth.HashSecret(cred))
		if errors.Is(err, store.ErrNotFound) {
			return bad
		}
		p = &Principal{HostID: h.ID, HostName: h.Name}
		return err
	})
	return p, err
}

// clientIP is the address of the caller as seen by this server.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
