package validate

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxRangeNames is the most names one batch range may produce.
const MaxRangeNames = 10000

// maxRangeDigits keeps both bounds well inside int on every platform.
const maxRangeDigits = 9

// ParseRange parses a batch range "START-END" such as "003-050" into its
// bounds and the width of START, so that names can be zero-padded alike
// ("003", "004", ..., "050"). Both sides are decimal digits, START <= END
// and the range covers at most MaxRangeNames numbers. Errors are
// *FieldErrors for field "range".
func ParseRange(s string) (start, end, width int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok || !isDigits(a) || !isDigits(b) {
		return 0, 0, 0, fail("range", fmt.Sprintf("must be START-END with up to %d digits on each side, such as 003-050", maxRangeDigits))
	}
	start, _ = strconv.Atoi(a) // cannot fail: at most 9 digits
	end, _ = strconv.Atoi(b)
	if start > end {
		return 0, 0, 0, fail("range", "must not start after it ends")
	}
	if end-start+1 > MaxRangeNames {
		return 0, 0, 0, fail("range", fmt.Sprintf("must cover at most %d names", MaxRangeNames))
	}
	return start, end, len(a), nil
}

// isDigits reports whether s is 1 to maxRangeDigits ASCII digits.
func isDigits(s string) bool {
	if s == "" || len(s) > maxRangeDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
