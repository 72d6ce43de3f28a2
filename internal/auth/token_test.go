package auth

import (
	"strings"
	"testing"
)

func TestNewCredentials(t *testing.T) {
	tests := []struct {
		name   string
		gen    func() string
		prefix string
		length int
		looks  func(string) bool
	}{
		{"token", NewToken, "nmt_", 4 + 43, LooksLikeToken},
		{"app key", NewAppKey, "nak_", 4 + 22, LooksLikeAppKey},
		{"app secret", NewAppSecret, "nas_", 4 + 43, LooksLikeAppSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 100 {
				s := tt.gen()
				if !strings.HasPrefix(s, tt.prefix) || len(s) != tt.length {
					t.Fatalf("%q: want prefix %q and length %d", s, tt.prefix, tt.length)
				}
				if strings.ContainsAny(s[4:], "+/=") {
					t.Fatalf("%q is not unpadded base64url", s)
				}
				if !tt.looks(s) {
					t.Fatalf("%q not recognized by its own LooksLike", s)
				}
				if seen[s] {
					t.Fatalf("duplicate credential %q", s)
				}
				seen[s] = true
			}
		})
	}
}

func TestLooksLikeToken(t *testing.T) {
	valid := NewToken()
	tests := []struct {
		name string
		s    string
		want bool
	}{
		{"valid", valid, true},
		{"empty", "", false},
		{"prefix only", "nmt_", false},
		{"wrong prefix", "nas_" + valid[4:], false},
		{"upper prefix", "NMT_" + valid[4:], false},
		{"short", valid[:len(valid)-1], false},
		{"long", valid + "A", false},
		{"bad char", valid[:10] + "+" + valid[11:], false},
		{"non-canonical last char", "nmt_" + strings.Repeat("A", 42) + "B", false},
		{"app key", NewAppKey(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeToken(tt.s); got != tt.want {
				t.Fatalf("LooksLikeToken(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestHashSecret(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := HashSecret(tt.in); got != tt.want {
			t.Errorf("HashSecret(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
