package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefixes that make each kind of opaque credential recognizable in logs,
// headers and secret scanners.
const (
	TokenPrefix     = "nmt_"
	AppKeyPrefix    = "nak_"
	AppSecretPrefix = "nas_"
	JoinTokenPrefix = "njt_"
	HostCredPrefix  = "nhc_"
	AgentKeyPrefix  = "nag_"
)

// Random bytes behind each credential.
const (
	tokenBytes     = 32
	appKeyBytes    = 16
	appSecretBytes = 32
)

var b64url = base64.RawURLEncoding

// newOpaque returns prefix followed by n random bytes in unpadded base64url.
func newOpaque(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it crashes the program instead.
	return prefix + b64url.EncodeToString(b)
}

// looksLike reports whether s is prefix followed by the unpadded base64url
// encoding of exactly n bytes.
func looksLike(s, prefix string, n int) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != b64url.EncodedLen(n) {
		return false
	}
	b, err := b64url.Strict().DecodeString(rest)
	return err == nil && len(b) == n
}

// NewToken returns a new session token: "nmt_" and 43 base64url characters
// (32 random bytes). Store only HashSecret of it.
func NewToken() string { return newOpaque(TokenPrefix, tokenBytes) }

// NewAppKey returns a new public API key identifier: "nak_" and 22
// base64url characters (16 random bytes).
func NewAppKey() string { return newOpaque(AppKeyPrefix, appKeyBytes) }

// NewAppSecret returns a new API key secret: "nas_" and 43 base64url
// characters (32 random bytes). Store only HashSecret of it.
func NewAppSecret() string { return newOpaque(AppSecretPrefix, appSecretBytes) }

// HashSecret returns the lowercase hex SHA-256 of a token or secret, the form
// in which credentials are stored and looked up.
func HashSecret(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// LooksLikeToken reports whether s has the exact shape of a session token,
// so malformed credentials can be refused without a store lookup.
func LooksLikeToken(s string) bool { return looksLike(s, TokenPrefix, tokenBytes) }

// LooksLikeAppKey reports whether s has the exact shape of an API key.
func LooksLikeAppKey(s string) bool { return looksLike(s, AppKeyPrefix, appKeyBytes) }

// LooksLikeAppSecret reports whether s has the exact shape of an API secret.
func LooksLikeAppSecret(s string) bool { return looksLike(s, AppSecretPrefix, appSecretBytes) }

// NewJoinToken returns a new single-use host join token: "njt_" and 43
// base64url characters. Store only HashSecret of it.
func NewJoinToken() string { return newOpaque(JoinTokenPrefix, tokenBytes) }

// LooksLikeJoinToken reports whether s has the exact shape of a join token.
func LooksLikeJoinToken(s string) bool { return looksLike(s, JoinTokenPrefix, tokenBytes) }

// NewHostCredential returns a new host credential, the bearer an agent
// presents: "nhc_" and 43 base64url characters. Store only HashSecret of it.
func NewHostCredential() string { return newOpaque(HostCredPrefix, tokenBytes) }

// LooksLikeHostCredential reports whether s has the exact shape of a host
// credential.
func LooksLikeHostCredential(s string) bool { return looksLike(s, HostCredPrefix, tokenBytes) }

// NewAgentKey returns a new key the server presents to an agent: "nag_" and
// 43 base64url characters.
func NewAgentKey() string { return newOpaque(AgentKeyPrefix, tokenBytes) }
