package validate

import (
	"math"
	"testing"
)

func TestPermissions(t *testing.T) {
	known := []string{"tenant:read", "host:read", "host:write"}
	tests := []struct {
		name      string
		ps        []string
		wantField string // "" when valid
	}{
		{"empty", nil, ""},
		{"valid", []string{"host:read", "tenant:read"}, ""},
		{"unknown", []string{"host:read", "host:delete"}, "permissions[1]"},
		{"malformed", []string{"read"}, "permissions[0]"},
		{"repeated", []string{"host:read", "host:write", "host:read"}, "permissions[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Permissions("permissions", tt.ps, known)
			fe, _ := err.(*FieldError)
			if tt.wantField == "" && err != nil || tt.wantField != "" && (fe == nil || fe.Field != tt.wantField) {
				t.Fatalf("Permissions = %v, want error at %q", err, tt.wantField)
			}
		})
	}
}

func TestOvercommit(t *testing.T) {
	tests := []struct {
		x  float64
		ok bool
	}{
		{1, true}, {1.5, true}, {10, true},
		{0.99, false}, {0, false}, {-1, false}, {10.01, false},
		{math.NaN(), false}, {math.Inf(1), false},
	}
	for _, tt := range tests {
		if err := Overcommit("cpu_overcommit", tt.x); (err == nil) != tt.ok {
			t.Errorf("Overcommit(%v) = %v, want ok=%v", tt.x, err, tt.ok)
		}
	}
}

func TestStrategy(t *testing.T) {
	runChecks(t, Strategy, []checkCase{
		{"binpack", true}, {"spread", true}, {"", false}, {"Spread", false}, {"random", false},
	})
}

func TestRole(t *testing.T) {
	runChecks(t, Role, []checkCase{
		{"admin", true}, {"member", true}, {"viewer", true}, {"owner", false}, {"Admin", false}, {"", false},
	})
}
