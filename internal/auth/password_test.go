package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashPasswordFormat(t *testing.T) {
	phc, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected PHC prefix: %s", phc)
	}
	parts := strings.Split(phc, "$")
	if len(parts[4]) != 22 || len(parts[5]) != 43 {
		t.Fatalf("salt/hash lengths %d/%d, want 22/43", len(parts[4]), len(parts[5]))
	}
	again, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if again == phc {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	phc, err := HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	// A cheaper hash, as if made under older parameters, must still verify.
	cheap := params{memory: 64, time: 1, threads: 2, saltLen: 8, keyLen: 16}
	salt := []byte("saltsalt")
	oldPHC := encodePHC(cheap, salt, argon2Key("old-pass", salt, cheap))

	tests := []struct {
		name    string
		phc, pw string
		want    bool
		wantErr bool
	}{
		{"match", phc, "s3cret-pass", true, false},
		{"wrong", phc, "s3cret-pasS", false, false},
		{"empty", phc, "", false, false},
		{"old params match", oldPHC, "old-pass", true, false},
		{"old params wrong", oldPHC, "new-pass", false, false},
		{"malformed", "not a hash", "x", false, true},
		// 43 base64 characters less 6 leave 37, a length no base64 text has;
		// cutting 5 would leave 38, which decodes whenever the last
		// character's spare bits happen to be zero (1 in 16).
		{"truncated", phc[:len(phc)-6], "s3cret-pass", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.phc, tt.pw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidHash) {
				t.Fatalf("err = %v, want ErrInvalidHash", err)
			}
			if got != tt.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	phc, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	key := make([]byte, 32)
	tests := []struct {
		name string
		phc  string
		want bool
	}{
		{"current", phc, false},
		{"fewer passes", encodePHC(params{memory: 19456, time: 1, threads: 1}, salt, key), true},
		{"less memory", encodePHC(params{memory: 4096, time: 2, threads: 1}, salt, key), true},
		{"short key", encodePHC(defaultParams, salt, key[:16]), true},
		{"malformed", "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NeedsRehash(tt.phc); got != tt.want {
				t.Fatalf("NeedsRehash = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDummyVerifyCostsLikeVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	phc, err := HashPassword("password1")
	if err != nil {
		t.Fatal(err)
	}
	measure := func(f func()) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			f()
			best = min(best, time.Since(start))
		}
		return best
	}
	verify := measure(func() { _, _ = VerifyPassword(phc, "password2") })
	dummy := measure(func() { DummyVerify("password2") })
	// Same parameters, so the two differ only by noise; allow a wide margin.
	if dummy < verify/3 || dummy > verify*3 {
		t.Fatalf("DummyVerify took %v, VerifyPassword %v", dummy, verify)
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}
