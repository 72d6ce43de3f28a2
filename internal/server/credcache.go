package server

import (
	"sync"
	"time"
)

// Credential cache bounds: entries are trusted for at most credCacheTTL, and
// the cache is emptied when it would grow past credCacheMax.
const (
	credCacheTTL = 30 * time.Second
	credCacheMax = 10000
)

// credCache remembers the callers resolved from credentials, so a request
// costs one tiny read (the store's auth epoch) instead of two joins. An
// entry is used only while the epoch it was resolved under still stands:
// every change that can withdraw or grant access raises the epoch in its
// own transaction (see changesAccess), on whichever server made it.
type credCache struct {
	mu sync.Mutex
	m  map[string]cachedCred
}

type cachedCred struct {
	p       *Principal
	epoch   int64
	expires time.Time // of the token or key; zero: never
	cached  time.Time
}

func newCredCache() *credCache { return &credCache{m: map[string]cachedCred{}} }

// get returns the principal cached under key if it is still valid at now
// for epoch.
func (c *credCache) get(key string, epoch int64, now time.Time) (*Principal, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || e.epoch != epoch || now.Sub(e.cached) > credCacheTTL || (!e.expires.IsZero() && !now.Before(e.expires)) {
		return nil, false
	}
	return e.p, true
}

// put caches p, resolved under epoch. The principal must not be modified
// afterwards: requests share it.
func (c *credCache) put(key string, p *Principal, epoch int64, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= credCacheMax {
		clear(c.m)
	}
	c.m[key] = cachedCred{p: p, epoch: epoch, expires: expires, cached: now}
}

// changesAccess lists the audited actions that can change what an existing
// session or API key may do. mutate raises the auth epoch with each of them,
// and with changes marked altersAccess (a user update that touches enabled,
// platform_admin or the password).
var changesAccess = map[string]bool{
	"auth.logout":         true,
	"auth.session.revoke": true,
	"user.password":       true,
	"user.delete":         true,
	"group.delete":        true,
	"group.member.add":    true,
	"group.member.remove": true,
	"tenant.delete":       true,
	"tenant.role.set":     true,
	"tenant.role.remove":  true,
	"apikey.revoke":       true,
}
