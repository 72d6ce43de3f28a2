package validate

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text limits, in characters (Unicode code points) except for emails.
const (
	MaxEmailLen       = 254
	MaxDisplayNameLen = 128
	MaxDescriptionLen = 1024
)

// Email checks a bare email address such as "ada@example.com": no display
// name, angle brackets or quoting, a DNS domain, at most 254 bytes.
func Email(field, s string) error {
	const msg = "must be an email address such as name@example.com (no display name), at most 254 characters"
	if len(s) > MaxEmailLen {
		return fail(field, msg)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fail(field, msg)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !isDNSName(s[at+1:]) {
		return fail(field, msg)
	}
	return nil
}

// DisplayName checks a person's display name: at most 128 characters of
// valid UTF-8 without control characters. It may be empty.
func DisplayName(field, s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDisplayNameLen ||
		strings.ContainsFunc(s, unicode.IsControl) {
		return fail(field, "must be at most 128 characters, without control characters")
	}
	return nil
}

// Description checks free text: at most 1024 characters of valid UTF-8, with
// no control characters other than tab and line breaks. It may be empty.
func Description(field, s string) error {
	bad := func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDescriptionLen || strings.ContainsFunc(s, bad) {
		return fail(field, "must be at most 1024 characters of text, without control characters other than tabs and line breaks")
	}
	return nil
}
