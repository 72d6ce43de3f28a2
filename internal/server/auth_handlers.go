package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// Token lifetimes a caller may ask for at login.
const (
	minTokenTTL = time.Minute
	maxTokenTTL = 30 * 24 * time.Hour
)

var errBadLogin = problem.Unauthenticated("wrong user name or password")

// Login checks a password and issues a session token. Failed attempts are
// counted per user name in the database, so every server throttles alike.
func (h handlers) Login(ctx context.Context, req api.LoginRequestObject) (api.LoginResponseObject, error) {
	in := req.Body
	ttl := h.tokenTTL
	if in.TTLSeconds != nil {
		ttl = time.Duration(*in.TTLSeconds) * time.Second
		if ttl < minTokenTTL || ttl > maxTokenTTL {
			return nil, problem.Invalid("ttl_seconds", "must be between %d and %d seconds", int(minTokenTTL.Seconds()), int(maxTokenTTL.Seconds()))
		}
	}
	now := h.now()
	c := &change{action: "auth.login", objectType: "user", objectName: in.Username, actorName: in.Username}

	if err := h.beginAttempt(ctx, c, in.Username, now); err != nil {
		return nil, err
	}

	var user store.User
	err := h.store.Read(ctx, func(tx store.Tx) (err error) {
		user, err = tx.GetUserByName(ctx, in.Username)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// Unknown users and users without a password cost a full check too, so
	// that timing tells nothing about which names exist.
	ok := false
	if user.PasswordHash == "" {
		auth.DummyVerify(in.Password)
	} else if ok, err = auth.VerifyPassword(user.PasswordHash, in.Password); err != nil {
		h.log.ErrorContext(ctx, "stored password hash unreadable", "user", user.Name, "err", err)
	}
	// A disabled user gets the answer of a wrong password: its password
	// must not be confirmed to whoever guesses it.
	if !ok || !user.Enabled {
		h.metrics.logins.WithLabelValues("failure").Inc()
		h.auditFailure(ctx, c, errBadLogin)
		return nil, errBadLogin
	}

	plain := auth.NewToken()
	ri := infoFrom(ctx)
	ri.principal = &Principal{UserID: user.ID, UserName: user.Name}
	tok := store.Token{UserID: user.ID, TokenHash: auth.HashSecret(plain), CreatedAt: now, ExpiresAt: now.Add(ttl),
		SourceIP: ri.ip, UserAgent: truncate(ri.userAgent, 256)}
	var rehash string
	if auth.NeedsRehash(user.PasswordHash) {
		if rehash, err = auth.HashPassword(in.Password); err != nil {
			return nil, err
		}
	}
	err = h.mutate(ctx, c, func(tx store.Tx) error {
		if err := tx.ClearLoginFailures(ctx, user.Name); err != nil {
			return err
		}
		if rehash != "" {
			user.PasswordHash = rehash
			if err := tx.UpdateUser(ctx, &user); err != nil {
				return err
			}
		}
		return tx.CreateToken(ctx, &tok)
	})
	if err != nil {
		return nil, err
	}
	h.metrics.logins.WithLabelValues("success").Inc()
	return api.Login201JSONResponse{Token: plain, ExpiresAt: tok.ExpiresAt, User: userToAPI(user)}, nil
}

// beginAttempt admits one password check for name, counting it in advance
// in a transaction that orders concurrent attempts: parallel guesses, on any
// server, get no more checks than the throttle allows (store.ThrottleTx).
// The price: more than that many attempts for one name in flight at once
// are refused too, even with the right password. A refusal is audited.
func (h handlers) beginAttempt(ctx context.Context, c *change, name string, now time.Time) error {
	var locked time.Time
	if err := h.store.Write(ctx, func(tx store.Tx) (err error) {
		locked, err = tx.BeginLoginAttempt(ctx, name, now)
		return err
	}); err != nil {
		return err
	}
	if locked.IsZero() {
		return nil
	}
	h.metrics.logins.WithLabelValues("throttled").Inc()
	e := problem.New(http.StatusTooManyRequests, problem.CodeTooManyRequests,
		"too many password attempts for %q; try again after %s", name, locked.UTC().Format(time.RFC3339))
	e.RetryAfter = locked.Sub(now)
	h.auditFailure(ctx, c, e)
	return e
}

// Logout revokes the calling session token.
func (h handlers) Logout(ctx context.Context, _ api.LogoutRequestObject) (api.LogoutResponseObject, error) {
	p := principalFrom(ctx)
	if p.TokenID == "" {
		return nil, problem.Invalid("Authorization", "log out ends a session token; revoke an API key with DELETE /api/v1/tenants/{name}/apikeys/{app_key}")
	}
	err := h.mutate(ctx, &change{action: "auth.logout", objectType: "session", objectName: p.TokenID}, func(tx store.Tx) error {
		return tx.DeleteToken(ctx, p.TokenID)
	})
	if err != nil {
		return nil, err
	}
	return api.Logout204Response{}, nil
}

// WhoAmI describes the caller: user, tenants and roles, and the API key used.
func (h handlers) WhoAmI(ctx context.Context, _ api.WhoAmIRequestObject) (api.WhoAmIResponseObject, error) {
	p := principalFrom(ctx)
	var out api.WhoAmI
	err := h.store.Read(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		out.User = userToAPI(u)
		out.Tenants = []api.TenantRole{}
		for id, role := range p.Roles {
			if p.AppKey != "" && id != p.KeyTenantID {
				continue
			}
			t, err := tx.GetTenant(ctx, id)
			if err != nil {
				return err
			}
			out.Tenants = append(out.Tenants, api.TenantRole{Tenant: t.Name, Role: api.Role(role)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortBy(out.Tenants, func(t api.TenantRole) string { return t.Tenant })
	if p.AppKey != "" {
		out.APIKey = ptr(p.AppKey)
		perms := make([]api.Permission, len(p.KeyPerms))
		for i, perm := range p.KeyPerms {
			perms[i] = api.Permission(perm)
		}
		out.Permissions = &perms
	}
	return api.WhoAmI200JSONResponse(out), nil
}

// errKeySessions refuses API keys on the sessions of their user: a key acts
// in one tenant, sessions belong to the person.
var errKeySessions = problem.Forbidden("an API key cannot see or end its user's sessions; log in as the user")

// ListSessions lists the caller's live session tokens.
func (h handlers) ListSessions(ctx context.Context, _ api.ListSessionsRequestObject) (api.ListSessionsResponseObject, error) {
	p := principalFrom(ctx)
	if p.AppKey != "" {
		return nil, errKeySessions
	}
	var toks []store.Token
	err := h.store.Read(ctx, func(tx store.Tx) (err error) {
		toks, err = tx.ListTokens(ctx, p.UserID, h.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	out := api.SessionList{Items: make([]api.Session, len(toks))}
	for i, t := range toks {
		out.Items[i] = api.Session{ID: t.ID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, SourceIP: t.SourceIP,
			UserAgent: t.UserAgent, Current: t.ID == p.TokenID}
	}
	return api.ListSessions200JSONResponse(out), nil
}

// RevokeSession ends one of the caller's sessions. Another user's session
// answers 404.
func (h handlers) RevokeSession(ctx context.Context, req api.RevokeSessionRequestObject) (api.RevokeSessionResponseObject, error) {
	p := principalFrom(ctx)
	if p.AppKey != "" {
		return nil, errKeySessions
	}
	err := h.mutate(ctx, &change{action: "auth.session.revoke", objectType: "session", objectName: req.ID}, func(tx store.Tx) error {
		t, err := tx.GetToken(ctx, req.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && t.UserID != p.UserID) {
			return problem.NotFound("session", req.ID)
		}
		if err != nil {
			return err
		}
		return tx.DeleteToken(ctx, t.ID)
	})
	if err != nil {
		return nil, err
	}
	return api.RevokeSession204Response{}, nil
}

// ChangePassword sets the caller's password after checking the current one,
// and ends the caller's other sessions.
func (h handlers) ChangePassword(ctx context.Context, req api.ChangePasswordRequestObject) (api.ChangePasswordResponseObject, error) {
	p := principalFrom(ctx)
	if p.AppKey != "" {
		return nil, problem.Forbidden("an API key cannot change its user's password; log in as the user")
	}
	v := validate.New()
	v.At("new_password", auth.CheckPassword(req.Body.NewPassword))
	if err := v.Err(); err != nil {
		return nil, err
	}
	// The current password is checked outside any transaction, throttled
	// like a login, so that guesses neither hold the writer nor go unbounded.
	c := &change{action: "user.password", objectType: "user", objectName: p.UserName}
	if err := h.beginAttempt(ctx, c, p.UserName, h.now()); err != nil {
		return nil, err
	}
	var old store.User
	if err := h.store.Read(ctx, func(tx store.Tx) (err error) {
		old, err = tx.GetUser(ctx, p.UserID)
		return err
	}); err != nil {
		return nil, err
	}
	if ok, _ := auth.VerifyPassword(old.PasswordHash, req.Body.CurrentPassword); !ok {
		e := problem.Invalid("current_password", "is wrong")
		h.auditFailure(ctx, c, e)
		return nil, e
	}
	hash, err := auth.HashPassword(req.Body.NewPassword)
	if err != nil {
		return nil, err
	}
	err = h.mutate(ctx, c, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.PasswordHash != old.PasswordHash {
			return problem.Conflict("current_password", "the password changed meanwhile; try again with the new one")
		}
		u.PasswordHash = hash
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		if err := tx.ClearLoginFailures(ctx, u.Name); err != nil {
			return err
		}
		_, err = tx.DeleteUserTokens(ctx, u.ID, p.TokenID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return api.ChangePassword204Response{}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
