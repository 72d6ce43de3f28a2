package scheduler

import (
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseTerm(t *testing.T) {
	cases := []struct {
		in   string
		want Term
		out  string // String of the parsed term
	}{
		{"disk=ssd", Term{Key: "disk", Op: Equals, Values: []string{"ssd"}}, "disk=ssd"},
		{"disk=", Term{Key: "disk", Op: Equals, Values: []string{""}}, "disk="},
		{"disk!=hdd", Term{Key: "disk", Op: NotEquals, Values: []string{"hdd"}}, "disk!=hdd"},
		{"gpu", Term{Key: "gpu", Op: Exists}, "gpu"},
		{"!gpu", Term{Key: "gpu", Op: NotExists}, "!gpu"},
		{"zone in (a,b)", Term{Key: "zone", Op: In, Values: []string{"a", "b"}}, "zone in (a,b)"},
		{"zone notin (c)", Term{Key: "zone", Op: NotIn, Values: []string{"c"}}, "zone notin (c)"},
		{"  zone  in ( a , b )  ", Term{Key: "zone", Op: In, Values: []string{"a", "b"}}, "zone in (a,b)"},
		{"zone in(a)", Term{Key: "zone", Op: In, Values: []string{"a"}}, "zone in (a)"},
		{"disk = ssd", Term{Key: "disk", Op: Equals, Values: []string{"ssd"}}, "disk=ssd"},
		{"! gpu", Term{Key: "gpu", Op: NotExists}, "!gpu"},
		{"nimbus.io/rack=r-1.2_b", Term{Key: "nimbus.io/rack", Op: Equals, Values: []string{"r-1.2_b"}}, "nimbus.io/rack=r-1.2_b"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseTerm(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseTerm = %+v, want %+v", got, c.want)
			}
			if got.String() != c.out {
				t.Fatalf("String = %q, want %q", got.String(), c.out)
			}
			again, err := ParseTerm(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("round trip: %+v, %v", again, err)
			}
		})
	}
}

func TestParseTermErrors(t *testing.T) {
	long := strings.Repeat("k", 64)
	cases := []struct{ in, err string }{
		{"", `constraint "": empty key`},
		{long, `constraint "` + long + `": key "` + long + `" must be 1-63 letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit`},
		{"   ", `constraint "   ": empty key`},
		{"=ssd", `constraint "=ssd": empty key`},
		{"!=ssd", `constraint "!=ssd": empty key`},
		{"!", `constraint "!": empty key`},
		{"in (a)", `constraint "in (a)": empty key`},
		{"zone in ()", `constraint "zone in ()": empty value list`},
		{"zone notin ( )", `constraint "zone notin ( )": empty value list`},
		{"zone in (a,)", `constraint "zone in (a,)": empty value in the list`},
		{"zone in (a,b", `constraint "zone in (a,b": expected ")" at the end`},
		{"zone in a,b", `constraint "zone in a,b": expected (values) after in`},
		{"zone (a)", `constraint "zone (a)": expected "in" or "notin" before "("`},
		{"zone within (a)", `constraint "zone within (a)": expected "in" or "notin" before "("`},
		{"my zone=a", `constraint "my zone=a": key "my zone" contains whitespace`},
		{"my zone in (a)", `constraint "my zone in (a)": key "my zone" contains whitespace`},
		{"my zone", `constraint "my zone": key "my zone" contains whitespace`},
		{"zone=a b", `constraint "zone=a b": value "a b" contains whitespace`},
		{"zone in (a b,c)", `constraint "zone in (a b,c)": value "a b" contains whitespace`},
		{"zone=a=b", `constraint "zone=a=b": value "a=b" must be at most 63 letters, digits, '-', '_' or '.'`},
		{"-zone=a", `constraint "-zone=a": key "-zone" must be 1-63 letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit`},
		{"zöne", `constraint "zöne": key "zöne" must be 1-63 letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit`},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseTerm(c.in)
			if err == nil {
				t.Fatalf("ParseTerm = %+v, want error %s", got, c.err)
			}
			if err.Error() != c.err {
				t.Fatalf("error %s, want %s", err, c.err)
			}
		})
	}
}

// TestParseTermRoundTrip: every valid term reads back from its String.
func TestParseTermRoundTrip(t *testing.T) {
	key := rapid.StringMatching(`[a-zA-Z0-9]([-a-zA-Z0-9_./]{0,20}[a-zA-Z0-9])?`)
	value := rapid.StringMatching(`[-a-zA-Z0-9_.]{1,20}`)
	rapid.Check(t, func(t *rapid.T) {
		term := Term{Key: key.Draw(t, "key"), Op: Op(rapid.IntRange(int(Equals), int(NotExists)).Draw(t, "op"))}
		switch term.Op {
		case Equals, NotEquals:
			term.Values = []string{rapid.OneOf(value, rapid.Just("")).Draw(t, "value")}
		case In, NotIn:
			term.Values = rapid.SliceOfN(value, 1, 5).Draw(t, "values")
		}
		got, err := ParseTerm(term.String())
		if err != nil {
			t.Fatalf("%q: %v", term.String(), err)
		}
		if !reflect.DeepEqual(got, term) {
			t.Fatalf("%q read back as %+v, want %+v", term.String(), got, term)
		}
	})
}
