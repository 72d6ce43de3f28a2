package validate

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// MaxLabels is the most labels one object may carry.
const MaxLabels = 64

var (
	labelKeyRE   = regexp.MustCompile(`^[a-z0-9A-Z]([-a-zA-Z0-9_./]{0,61}[a-zA-Z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^[-a-zA-Z0-9_.]{0,63}$`)
)

const (
	labelKeyMsg   = "must be 1-63 characters of letters, digits, '-', '_', '.' and '/', starting and ending with a letter or digit"
	labelValueMsg = "must be at most 63 characters of letters, digits, '-', '_' and '.'"
)

// LabelKey checks a label key: 1-63 characters of letters, digits, '-', '_',
// '.' and '/', starting and ending with a letter or digit.
func LabelKey(field, s string) error {
	if !labelKeyRE.MatchString(s) {
		return fail(field, labelKeyMsg)
	}
	return nil
}

// LabelValue checks a label value: at most 63 characters of letters, digits,
// '-', '_' and '.'; it may be empty.
func LabelValue(field, s string) error {
	if !labelValueRE.MatchString(s) {
		return fail(field, labelValueMsg)
	}
	return nil
}

// Labels checks a label map: at most MaxLabels entries, each key and value
// valid. Keys are checked in sorted order so the reported error is stable; a
// bad value is reported at "field.key".
func Labels(field string, m map[string]string) error {
	if len(m) > MaxLabels {
		return fail(field, fmt.Sprintf("must have at most %d labels", MaxLabels))
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !labelKeyRE.MatchString(k) {
			return fail(field, fmt.Sprintf("key %q %s", k, labelKeyMsg))
		}
		if err := LabelValue(field+"."+k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// LabelOp is the comparison of one label selector term.
type LabelOp int

// The label selector operations.
const (
	Eq        LabelOp = iota // key=value: the label is set to value
	NotEq                    // key!=value: the label is absent or set to another value
	Exists                   // key: the label is set
	NotExists                // !key: the label is absent
)

// LabelTerm is one term of a label selector; a selector ANDs its terms.
type LabelTerm struct {
	Key   string
	Op    LabelOp
	Value string // used by Eq and NotEq only
}

// ParseLabelTerm parses a selector term: "k=v", "k!=v", "k" or "!k". Keys
// and values follow the label rules; "k=" selects an empty value. Errors are
// *FieldErrors for field "label".
func ParseLabelTerm(s string) (LabelTerm, error) {
	var t LabelTerm
	switch i := strings.IndexByte(s, '='); {
	case strings.HasPrefix(s, "!") && i < 0:
		t = LabelTerm{Key: s[1:], Op: NotExists}
	case i < 0:
		t = LabelTerm{Key: s, Op: Exists}
	case i > 0 && s[i-1] == '!':
		t = LabelTerm{Key: s[:i-1], Op: NotEq, Value: s[i+1:]}
	default:
		t = LabelTerm{Key: s[:i], Op: Eq, Value: s[i+1:]}
	}
	if !labelKeyRE.MatchString(t.Key) || !labelValueRE.MatchString(t.Value) {
		return LabelTerm{}, fail("label", fmt.Sprintf("%q must be key=value, key!=value, key or !key, with a valid label key and value", s))
	}
	return t, nil
}

// String formats t in the syntax ParseLabelTerm accepts.
func (t LabelTerm) String() string {
	switch t.Op {
	case NotEq:
		return t.Key + "!=" + t.Value
	case Exists:
		return t.Key
	case NotExists:
		return "!" + t.Key
	default:
		return t.Key + "=" + t.Value
	}
}

// Matches reports whether labels satisfy t.
func (t LabelTerm) Matches(labels map[string]string) bool {
	v, ok := labels[t.Key]
	switch t.Op {
	case NotEq:
		return !ok || v != t.Value
	case Exists:
		return ok
	case NotExists:
		return !ok
	default:
		return ok && v == t.Value
	}
}
