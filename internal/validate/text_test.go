package validate

import (
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	runChecks(t, Email, []checkCase{
		{"ada@example.com", true},
		{"a.b+tag@sub.example.org", true},
		{"root@localhost", true},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".com", true},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 94) + "com", false}, // 255 bytes
		{"", false},
		{"ada", false},
		{"@example.com", false},
		{"ada@", false},
		{"Ada <ada@example.com>", false},
		{"<ada@example.com>", false},
		{"ada@example.com (Ada)", false},
		{`"a b"@example.com`, false},
		{"ada@[192.0.2.1]", false},
		{"ada@exa_mple.com", false},
		{"ada@-example.com", false},
		{" ada@example.com", false},
		{"ada@example.com\n", false},
	})
}

func TestDisplayName(t *testing.T) {
	runChecks(t, DisplayName, []checkCase{
		{"", true},
		{"Ada Lovelace", true},
		{"李雷", true},
		{strings.Repeat("é", 128), true},
		{strings.Repeat("é", 129), false},
		{"Ada\nLovelace", false},
		{"Ada\x00", false},
		{"bad \xff utf8", false},
	})
}

func TestDescription(t *testing.T) {
	runChecks(t, Description, []checkCase{
		{"", true},
		{"Line one\n\tline two\r\n", true},
		{strings.Repeat("x", 1024), true},
		{strings.Repeat("x", 1025), false},
		{"bell\a", false},
		{"esc\x1b[31m", false},
		{"\xfe", false},
	})
}
