package scheduler

import (
	"fmt"
	"strings"
	"unicode"
)

// ParseTerm parses one constraint: "k=v", "k!=v", "k", "!k", "k in (a,b)", "k notin (a,b)".
//
// Keys and values follow the label rules: a key is 1-63 letters, digits,
// '-', '_', '.' or '/', starting and ending with a letter or digit; a value
// is at most 63 letters, digits, '-', '_' or '.', and may be empty after =
// and != only. Spaces around the parts are allowed. Errors name the
// constraint and what is wrong with it, for API users to read as they are.
func ParseTerm(s string) (Term, error) {
	t, problem := parseTerm(strings.TrimSpace(s))
	if problem != "" {
		return Term{}, fmt.Errorf("constraint %q: %s", s, problem)
	}
	return t, nil
}

// parseTerm parses a trimmed term, or says what is wrong with it.
func parseTerm(s string) (Term, string) {
	if open := strings.IndexByte(s, '('); open >= 0 {
		return parseSet(s, open)
	}
	var t Term
	var value string
	switch {
	case strings.Contains(s, "!="):
		k, v, _ := strings.Cut(s, "!=")
		t.Key, t.Op, value = strings.TrimSpace(k), NotEquals, strings.TrimSpace(v)
	case strings.Contains(s, "="):
		k, v, _ := strings.Cut(s, "=")
		t.Key, t.Op, value = strings.TrimSpace(k), Equals, strings.TrimSpace(v)
	case strings.HasPrefix(s, "!"):
		t.Key, t.Op = strings.TrimSpace(s[1:]), NotExists
	default:
		if f := strings.Fields(s); len(f) > 1 && (f[1] == "in" || f[1] == "notin") {
			return Term{}, fmt.Sprintf("expected (values) after %s", f[1])
		}
		t.Key, t.Op = s, Exists
	}
	if problem := checkKey(t.Key); problem != "" {
		return Term{}, problem
	}
	if t.Op == Equals || t.Op == NotEquals {
		if problem := checkValue(value); problem != "" {
			return Term{}, problem
		}
		t.Values = []string{value}
	}
	return t, ""
}

// parseSet parses "k in (a,b)" or "k notin (a,b)", s[open] being the "(".
func parseSet(s string, open int) (Term, string) {
	head := strings.TrimSpace(s[:open])
	f := strings.Fields(head)
	if len(f) == 0 || (f[len(f)-1] != "in" && f[len(f)-1] != "notin") {
		return Term{}, `expected "in" or "notin" before "("`
	}
	t := Term{Op: In}
	if f[len(f)-1] == "notin" {
		t.Op = NotIn
	}
	t.Key = strings.TrimSpace(strings.TrimSuffix(head, f[len(f)-1]))
	if problem := checkKey(t.Key); problem != "" {
		return Term{}, problem
	}
	inner, ok := strings.CutSuffix(s[open+1:], ")")
	if !ok {
		return Term{}, `expected ")" at the end`
	}
	if strings.TrimSpace(inner) == "" {
		return Term{}, "empty value list"
	}
	for v := range strings.SplitSeq(inner, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return Term{}, "empty value in the list"
		}
		if problem := checkValue(v); problem != "" {
			return Term{}, problem
		}
		t.Values = append(t.Values, v)
	}
	return t, ""
}

// checkKey says what is wrong with a label key, if anything.
func checkKey(k string) string {
	switch {
	case k == "":
		return "empty key"
	case strings.ContainsFunc(k, unicode.IsSpace):
		return fmt.Sprintf("key %q contains whitespace", k)
	case len(k) > 63 || !alnum(k[0]) || !alnum(k[len(k)-1]) || strings.ContainsFunc(k, func(c rune) bool { return c > 127 || !labelChar(byte(c), true) }):
		return fmt.Sprintf("key %q must be 1-63 letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit", k)
	}
	return ""
}

// checkValue says what is wrong with a label value, if anything.
func checkValue(v string) string {
	switch {
	case strings.ContainsFunc(v, unicode.IsSpace):
		return fmt.Sprintf("value %q contains whitespace", v)
	case len(v) > 63 || strings.ContainsFunc(v, func(c rune) bool { return c > 127 || !labelChar(byte(c), false) }):
		return fmt.Sprintf("value %q must be at most 63 letters, digits, '-', '_' or '.'", v)
	}
	return ""
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// labelChar reports whether c may appear in a label key (with '/') or value.
func labelChar(c byte, key bool) bool {
	return alnum(c) || c == '-' || c == '_' || c == '.' || (key && c == '/')
}

// String gives the term back in that syntax.
func (t Term) String() string {
	switch t.Op {
	case Equals:
		return t.Key + "=" + t.value()
	case NotEquals:
		return t.Key + "!=" + t.value()
	case In:
		return t.Key + " in (" + strings.Join(t.Values, ",") + ")"
	case NotIn:
		return t.Key + " notin (" + strings.Join(t.Values, ",") + ")"
	case NotExists:
		return "!" + t.Key
	}
	return t.Key
}

// value is the single value of an Equals or NotEquals term.
func (t Term) value() string {
	if len(t.Values) == 0 {
		return ""
	}
	return t.Values[0]
}
