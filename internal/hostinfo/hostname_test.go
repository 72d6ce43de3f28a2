package hostinfo

import (
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

var hostNameRule = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,28}[a-z0-9]$`)

func TestHostName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"node-01", "node-01"},
		{"Web01.Example.COM", "web01-example-com"},
		{"vm", "host-vm"},
		{"", "host"},
		{"-", "host"},
		{"a", "host-a"},
		{"--Srv__7--", "srv-7"},
		{"über_box", "ber-box"},
		{"日本", "host"},
		{"node--a", "node-a"},
		{strings.Repeat("a", 40), strings.Repeat("a", 30)},
		{strings.Repeat("a", 29) + ".b", strings.Repeat("a", 29)},
	}
	for _, tt := range tests {
		if got := HostName(tt.in); got != tt.want {
			t.Errorf("HostName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHostNameProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.OneOf(
			rapid.String(),
			rapid.StringMatching(`[A-Za-z0-9._-]{0,70}`),
		).Draw(t, "hostname")
		got := HostName(in)
		if !hostNameRule.MatchString(got) {
			t.Fatalf("HostName(%q) = %q breaks the host name rule", in, got)
		}
		if again := HostName(got); again != got {
			t.Fatalf("HostName not idempotent: %q -> %q -> %q", in, got, again)
		}
		if hostNameRule.MatchString(in) && !strings.Contains(in, "--") && got != in {
			t.Fatalf("valid name %q changed to %q", in, got)
		}
	})
}
