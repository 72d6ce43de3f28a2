package cli

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	r, err := parseRange("003-050")
	if err != nil {
		t.Fatal(err)
	}
	if r.count() != 48 {
		t.Errorf("count = %d, want 48", r.count())
	}
	if got := r.name("rduser", "", r.first); got != "rduser003" {
		t.Errorf("first name = %q", got)
	}
	if got := r.name("s", "x", 1000); got != "s1000x" {
		t.Errorf("name past the width = %q", got)
	}
	if r, err := parseRange("1-10000"); err != nil || r.count() != maxBatchUsers {
		t.Errorf("parseRange(1-10000) = %+v, %v", r, err)
	}
	for _, bad := range []string{"", "3", "a-b", "50-3", "1-10001", "1234567-1234568", "-5", "1--5"} {
		if _, err := parseRange(bad); err == nil {
			t.Errorf("parseRange(%q): want an error", bad)
		}
	}
}

func TestUserCreateFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error; "" for none
	}{
		{[]string{"alice"}, ""},
		{[]string{"alice", "--email", "a@example.com", "--tenant", "RD", "--role", "member", "--platform-admin"}, ""},
		{[]string{"--prefix", "rduser", "--range", "003-050", "--tenant", "RD_Dept", "--role", "member", "--email-domain", "example.com"}, ""},
		{nil, "give one user NAME"},
		{[]string{"alice", "bob"}, "give one user NAME"},
		{[]string{"alice", "--prefix", "s", "--range", "1-2"}, "not both"},
		{[]string{"--prefix", "s"}, "--prefix needs --range"},
		{[]string{"--prefix", "s", "--range", "9-1"}, "9 is after 1"},
		{[]string{"--prefix", "s", "--range", "1-2", "--email", "x@y"}, "--email creates one user"},
		{[]string{"alice", "--suffix", "x"}, "--suffix needs --prefix"},
		{[]string{"alice", "--tenant", "RD"}, "go together"},
		{[]string{"alice", "--role", "member"}, "go together"},
		{[]string{"alice", "--tenant", "RD", "--role", "owner"}, `--role "owner": want admin, member or viewer`},
	}
	isolate(t)
	for _, tt := range tests {
		// Valid flags get as far as needing a login.
		_, _, err := runCLI(t, "", append([]string{"user", "create"}, tt.args...)...)
		switch {
		case tt.want == "" && !errors.Is(err, errNotLoggedIn):
			t.Errorf("%q: got %v, want to pass the checks", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: got %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}
