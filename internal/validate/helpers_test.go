package validate

import (
	"errors"
	"testing"
)

// checkCase is one input to a (field, string) validator and whether it passes.
type checkCase struct {
	in string
	ok bool
}

// runChecks runs fn over cases and checks the outcome and the error's shape.
func runChecks(t *testing.T, fn func(field, s string) error, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		err := fn("f", c.in)
		if (err == nil) != c.ok {
			t.Errorf("(%q) = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "f" || fe.Message == "") {
			t.Errorf("(%q) error %#v is not a FieldError for field f", c.in, err)
		}
	}
}
