package store

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseLabelTerm(t *testing.T) {
	tests := []struct {
		in   string
		want LabelTerm
	}{
		{"zone=a", LabelTerm{Key: "zone", Op: LabelEquals, Value: "a"}},
		{"zone=", LabelTerm{Key: "zone", Op: LabelEquals}},
		{"zone!=a", LabelTerm{Key: "zone", Op: LabelNotEquals, Value: "a"}},
		{"gpu", LabelTerm{Key: "gpu", Op: LabelExists}},
		{"!gpu", LabelTerm{Key: "gpu", Op: LabelNotExists}},
		{"example.com/role=db", LabelTerm{Key: "example.com/role", Op: LabelEquals, Value: "db"}},
	}
	for _, tt := range tests {
		got, err := ParseLabelTerm(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLabelTerm(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
	for _, bad := range []string{"", "!", "=a", "!=a", "a=b=c", "!a=b", "a!=b=c", "!!a"} {
		if got, err := ParseLabelTerm(bad); err == nil {
			t.Errorf("ParseLabelTerm(%q) = %+v, want error", bad, got)
		}
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{0: DefaultPageLimit, -3: DefaultPageLimit, 1: 1, 250: 250, 5000: MaxPageLimit} {
		if got := (Page{Limit: in}).EffectiveLimit(); got != want {
			t.Errorf("Page{Limit: %d}.EffectiveLimit() = %d, want %d", in, got, want)
		}
	}
}

func TestErrorsMatch(t *testing.T) {
	tests := []struct {
		err    error
		target error
		text   string
	}{
		{&NotFoundError{Object: "user", Key: `"bob"`}, ErrNotFound, `user "bob" not found`},
		{&ConflictError{Object: "user", Field: "name", Value: "bob"}, ErrConflict, `user with name "bob" already exists`},
		{&BatchConflictError{Names: []string{"a", "b"}}, ErrConflict, "2 names already taken: a, b"},
		{&InUseError{Object: `tenant "T"`, Reason: "owns cluster"}, ErrInUse, `tenant "T" is in use: owns cluster`},
		{&QuotaExceededError{Resource: "cpu", Requested: 2, Used: 3.5, Limit: 4, Priority: 1}, ErrQuotaExceeded,
			"quota exceeded for cpu in tier 1: requested 2, used 3.5, limit 4"},
	}
	for _, tt := range tests {
		wrapped := fmt.Errorf("context: %w", tt.err)
		if !errors.Is(wrapped, tt.target) {
			t.Errorf("%T does not match %v", tt.err, tt.target)
		}
		if tt.err.Error() != tt.text {
			t.Errorf("%T.Error() = %q, want %q", tt.err, tt.err.Error(), tt.text)
		}
	}
	if errors.Is(&NotFoundError{}, ErrConflict) {
		t.Error("NotFoundError matches ErrConflict")
	}
}
