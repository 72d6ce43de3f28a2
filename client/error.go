package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nimbus-cloud/nimbus/api"
)

// Error is an API error answer, decoded from its RFC 9457 problem document.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the problem code, e.g. api.ProblemCodeNotFound; empty when the
	// answer was not a problem document.
	Code api.ProblemCode
	// Field is the JSON path of the offending request field, if any.
	Field string
	// Detail explains the error (the problem's detail, else its title, else
	// the start of a non-problem body).
	Detail string
	// Conflicts lists every conflicting name of a batch create.
	Conflicts []string
	// Problem is the decoded document, nil when the answer was not one.
	Problem *api.Problem
}

// maxConflictsShown bounds the names Error lists.
const maxConflictsShown = 10

// Error reads "code: field: detail", e.g. "invalid_field: name: must start
// with a letter", followed by the conflicting names if any.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(string(e.Code))
	} else {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if n := len(e.Conflicts); n > 0 {
		shown := e.Conflicts[:min(n, maxConflictsShown)]
		fmt.Fprintf(&b, " (conflicts: %s", strings.Join(shown, ", "))
		if n > len(shown) {
			fmt.Fprintf(&b, " and %d more", n-len(shown))
		}
		b.WriteString(")")
	}
	return b.String()
}

// maxDetailBytes bounds how much of a non-problem body becomes Detail.
const maxDetailBytes = 200

// Err returns nil for a 2xx response and an *Error describing any other, from
// the response and its already-read body (the generated XxxResponse's
// HTTPResponse and Body).
func Err(resp *http.Response, body []byte) error {
	if resp == nil {
		return errors.New("no response")
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: resp.StatusCode}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err == nil && p.Code != "" {
		e.Problem = &p
		e.Code = p.Code
		e.Field = deref(p.Field)
		e.Detail = deref(p.Detail)
		if e.Detail == "" {
			e.Detail = p.Title
		}
		if p.Conflicts != nil {
			e.Conflicts = *p.Conflicts
		}
		return e
	}
	detail := strings.TrimSpace(string(body))
	if len(detail) > maxDetailBytes {
		detail = strings.ToValidUTF8(detail[:maxDetailBytes], "") + "..."
	}
	e.Detail = detail
	return e
}

// IsNotFound reports whether err is an API answer 404 Not Found.
func IsNotFound(err error) bool {
	return hasStatus(err, http.StatusNotFound)
}

// IsConflict reports whether err is an API answer 409 Conflict.
func IsConflict(err error) bool {
	return hasStatus(err, http.StatusConflict)
}

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
