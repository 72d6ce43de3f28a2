package auth

import (
	"errors"
	"testing"

	"golang.org/x/crypto/argon2"
)

// argon2Key derives a key the way VerifyPassword does, for building fixtures.
func argon2Key(pw string, salt []byte, p params) []byte {
	return argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
}

func TestDecodePHC(t *testing.T) {
	const salt = "AAAAAAAAAAAAAAAAAAAAAA"                     // 16 bytes
	const key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 bytes
	tests := []struct {
		name string
		phc  string
		ok   bool
	}{
		{"valid", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key, true},
		{"valid other costs", "$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + key, true},
		{"empty", "", false},
		{"no leading dollar", "argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key, false},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key, false},
		{"old version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key, false},
		{"missing version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key, false},
		{"params reordered", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key, false},
		{"param missing", "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key, false},
		{"negative", "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key, false},
		{"zero passes", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key, false},
		{"zero lanes", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key, false},
		{"too many lanes", "$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key, false},
		{"memory too large", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, false},
		{"memory below 8p", "$argon2id$v=19$m=8,t=2,p=2$" + salt + "$" + key, false},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key, false},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$" + key, false},
		{"short key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAA", false},
		{"bad base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:42] + "!", false},
		{"trailing field", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := decodePHC(tt.phc)
			if (err == nil) != tt.ok {
				t.Fatalf("decodePHC err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("err = %v does not wrap ErrInvalidHash", err)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := []byte("0123456789abcdef0123456789abcdef")
	p, gotSalt, gotKey, err := decodePHC(encodePHC(defaultParams, salt, key))
	if err != nil {
		t.Fatal(err)
	}
	if p != defaultParams || string(gotSalt) != string(salt) || string(gotKey) != string(key) {
		t.Fatalf("round trip mismatch: %+v %q %q", p, gotSalt, gotKey)
	}
}
