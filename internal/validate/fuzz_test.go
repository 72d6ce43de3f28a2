package validate

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func FuzzParseLabelTerm(f *testing.F) {
	for _, s := range []string{"zone=a", "zone!=a", "gpu", "!gpu", "k=", "!", "=", "a!b=c", "x==y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		term, err := ParseLabelTerm(s)
		if err != nil {
			return
		}
		if got := term.String(); got != s {
			t.Fatalf("String() = %q, input %q", got, s)
		}
		again, err := ParseLabelTerm(term.String())
		if err != nil || again != term {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
		if LabelKey("k", term.Key) != nil || LabelValue("v", term.Value) != nil {
			t.Fatalf("accepted invalid key or value: %+v", term)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"003-050", "1-10000", "0-0", "9-1", "-", "1-2-3", "999999999-999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, width, err := ParseRange(s)
		if err != nil {
			return
		}
		a, b, _ := strings.Cut(s, "-")
		if start < 0 || start > end || end-start+1 > MaxRangeNames {
			t.Fatalf("ParseRange(%q) = %d, %d: bounds out of rule", s, start, end)
		}
		if got := fmt.Sprintf("%0*d", width, start); got != a {
			t.Fatalf("start %d width %d formats as %q, input %q", start, width, got, a)
		}
		if n, err := strconv.Atoi(b); err != nil || n != end {
			t.Fatalf("end %d, input %q", end, b)
		}
	})
}

var hostNameRule = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,28}[a-z0-9]$`)

func FuzzHostName(f *testing.F) {
	for _, s := range []string{"node-01", "abc", "-abcd", "ABCD", "a--b", strings.Repeat("a", 31)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if (HostName("name", s) == nil) != hostNameRule.MatchString(s) {
			t.Fatalf("HostName(%q) disagrees with the rule", s)
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "Ada <ada@example.com>", `"a b"@c.d`, "a@[1.2.3.4]", "a@b@c", "ü@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Email("email", s) != nil {
			return
		}
		if len(s) > MaxEmailLen || strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t\r\n<>\"") {
			t.Fatalf("accepted %q", s)
		}
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" {
			t.Fatalf("accepted %q does not round-trip through net/mail: %v, %v", s, a, err)
		}
	})
}
