package auth

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Password length limits, in characters (Unicode code points).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// Password policy violations. Their messages are written for end users.
var (
	ErrPasswordLength = errors.New("password must be 8 to 128 characters long")
	ErrPasswordBlank  = errors.New("password must not consist only of spaces")
	ErrPasswordUTF8   = errors.New("password must be valid UTF-8 text")
)

// CheckPassword applies the password policy to a new password. It returns
// nil, or one of ErrPasswordLength, ErrPasswordBlank and ErrPasswordUTF8.
func CheckPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return ErrPasswordUTF8
	}
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen || n > MaxPasswordLen {
		return ErrPasswordLength
	}
	if strings.TrimSpace(pw) == "" {
		return ErrPasswordBlank
	}
	return nil
}
