package validate

import (
	"errors"
	"testing"
)

func TestValidatorFirstErrorWins(t *testing.T) {
	tests := []struct {
		name      string
		run       func(v *Validator)
		wantField string // "" when valid
		wantMsg   string
	}{
		{"all valid", func(v *Validator) {
			v.UserName("name", "alice")
			v.Email("email", "alice@example.com")
			v.Labels("labels", map[string]string{"zone": "a"})
		}, "", ""},
		{"first of two", func(v *Validator) {
			v.UserName("name", "alice")
			v.Email("email", "nope")
			v.Role("role", "owner")
		}, "email", ""},
		{"check with index path", func(v *Validator) {
			v.Check(true, Index("tiers", 0)+".cpu", "must be greater than 0")
			v.Check(false, Index("tiers", 1)+".cpu", "must be greater than 0")
		}, "tiers[1].cpu", "must be greater than 0"},
		{"at renames", func(v *Validator) {
			_, _, _, err := ParseRange("9-1")
			v.At("body.range", err)
		}, "body.range", "must not start after it ends"},
		{"at plain error", func(v *Validator) {
			v.At("password", errors.New("password too short"))
		}, "password", "password too short"},
		{"add plain error", func(v *Validator) {
			v.Add(nil)
			v.Add(errors.New("boom"))
		}, "", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New()
			tt.run(v)
			err := v.Err()
			if tt.wantField == "" && tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Err = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || (tt.wantMsg != "" && fe.Message != tt.wantMsg) {
				t.Fatalf("Err = %#v, want field %q message %q", err, tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestFieldErrorError(t *testing.T) {
	tests := []struct {
		err  FieldError
		want string
	}{
		{FieldError{Field: "name", Message: "must be short"}, "name: must be short"},
		{FieldError{Message: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestZeroValidatorIsNil(t *testing.T) {
	var v Validator
	if err := v.Err(); err != nil {
		t.Fatalf("zero Validator Err = %v (a typed nil?)", err)
	}
}
