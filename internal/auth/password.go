package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// HashPassword hashes pw with argon2id under the current parameters and a
// fresh random salt, returning a PHC string such as
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>".
func HashPassword(pw string) (string, error) {
	p := defaultParams
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return encodePHC(p, salt, key), nil
}

// VerifyPassword reports whether pw matches the PHC string phc. The costs are
// read from phc itself, so hashes made under older parameters still verify.
// A malformed phc yields false and an error wrapping ErrInvalidHash.
func VerifyPassword(phc, pw string) (bool, error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether phc was made with parameters other than the
// current ones (or is malformed), so the caller should store a new hash after
// the next successful login.
func NeedsRehash(phc string) bool {
	p, _, _, err := decodePHC(phc)
	return err != nil || p != defaultParams
}

// dummyPHC is a well-formed hash under the current parameters that no
// password matches in practice; DummyVerify checks against it.
var dummyPHC = encodePHC(defaultParams, make([]byte, defaultParams.saltLen), make([]byte, defaultParams.keyLen))

// DummyVerify spends the same time as VerifyPassword on a current hash. Call
// it when the named user does not exist, so response times do not reveal
// which user names are taken.
func DummyVerify(pw string) {
	_, _ = VerifyPassword(dummyPHC, pw)
}
