package validate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLabelKey(t *testing.T) {
	runChecks(t, LabelKey, []checkCase{
		{"a", true},
		{"zone", true},
		{"nimbus.dev/gpu", true},
		{"A_b-c.d/e9", true},
		{"a" + strings.Repeat("b", 62), true},
		{"a" + strings.Repeat("b", 63), false},
		{"", false},
		{"-a", false},
		{"a/", false},
		{"a b", false},
		{"a=b", false},
		{"!a", false},
	})
}

func TestLabelValue(t *testing.T) {
	runChecks(t, LabelValue, []checkCase{
		{"", true},
		{"ssd", true},
		{"-v1.2_x", true},
		{strings.Repeat("v", 63), true},
		{strings.Repeat("v", 64), false},
		{"a/b", false},
		{"a b", false},
		{"a=b", false},
	})
}

func TestLabels(t *testing.T) {
	many := map[string]string{}
	for i := range MaxLabels + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name      string
		m         map[string]string
		wantField string // "" when valid
	}{
		{"nil", nil, ""},
		{"valid", map[string]string{"zone": "a", "disk": "ssd", "gpu": ""}, ""},
		{"too many", many, "labels"},
		{"bad key", map[string]string{"ok": "v", "bad key": "v"}, "labels"},
		{"bad value", map[string]string{"zone": "a b"}, "labels.zone"},
		{"first sorted wins", map[string]string{"b": "x y", "a": "x y"}, "labels.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Labels("labels", tt.m)
			var fe *FieldError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("Labels = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField):
				t.Fatalf("Labels = %#v, want a FieldError for %q", err, tt.wantField)
			}
		})
	}
}

func TestParseLabelTerm(t *testing.T) {
	tests := []struct {
		in      string
		want    LabelTerm
		wantErr bool
	}{
		{"zone=a", LabelTerm{Key: "zone", Op: Eq, Value: "a"}, false},
		{"zone=", LabelTerm{Key: "zone", Op: Eq}, false},
		{"zone!=a", LabelTerm{Key: "zone", Op: NotEq, Value: "a"}, false},
		{"gpu", LabelTerm{Key: "gpu", Op: Exists}, false},
		{"!gpu", LabelTerm{Key: "gpu", Op: NotExists}, false},
		{"nimbus.dev/gpu=nvidia", LabelTerm{Key: "nimbus.dev/gpu", Op: Eq, Value: "nvidia"}, false},
		{"", LabelTerm{}, true},
		{"!", LabelTerm{}, true},
		{"=a", LabelTerm{}, true},
		{"!=a", LabelTerm{}, true},
		{"!zone=a", LabelTerm{}, true},
		{"zone==a", LabelTerm{}, true},
		{"zone=a=b", LabelTerm{}, true},
		{"zone = a", LabelTerm{}, true},
		{"!!gpu", LabelTerm{}, true},
		{"zone=a b", LabelTerm{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLabelTerm(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseLabelTerm(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && got.String() != tt.in {
				t.Fatalf("String() = %q, want %q", got.String(), tt.in)
			}
			var fe *FieldError
			if err != nil && (!errors.As(err, &fe) || fe.Field != "label") {
				t.Fatalf("error %#v is not a FieldError for label", err)
			}
		})
	}
}

func TestLabelTermMatches(t *testing.T) {
	labels := map[string]string{"zone": "a", "gpu": ""}
	tests := []struct {
		term string
		want bool
	}{
		{"zone=a", true},
		{"zone=b", false},
		{"gpu=", true},
		{"disk=", false},
		{"zone!=b", true},
		{"zone!=a", false},
		{"disk!=x", true},
		{"gpu", true},
		{"disk", false},
		{"!disk", true},
		{"!zone", false},
	}
	for _, tt := range tests {
		term, err := ParseLabelTerm(tt.term)
		if err != nil {
			t.Fatal(err)
		}
		if got := term.Matches(labels); got != tt.want {
			t.Errorf("%q.Matches = %v, want %v", tt.term, got, tt.want)
		}
	}
}
