package auth

import (
	"strings"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"ok", "hunter22", nil},
		{"ok with spaces", "  two words  ", nil},
		{"ok max", strings.Repeat("a", 128), nil},
		{"ok multibyte counts characters", strings.Repeat("密", 8), nil},
		{"empty", "", ErrPasswordLength},
		{"short", "1234567", ErrPasswordLength},
		{"long", strings.Repeat("a", 129), ErrPasswordLength},
		{"all spaces", "         ", ErrPasswordBlank},
		{"all whitespace", " \t \t \t \t", ErrPasswordBlank},
		{"invalid utf8", "abcdefg\xff", ErrPasswordUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckPassword(tt.pw); got != tt.want {
				t.Fatalf("CheckPassword(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}
