// Package problem holds the server's user-facing errors: each carries its HTTP
// status, a stable machine code and, where one is to blame, the offending field.
// They are written as RFC 9457 problem details.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Stable machine codes. Clients match on these, never on messages.
const (
	CodeInvalidJSON          = "invalid_json"
	CodeInvalidField         = "invalid_field"
	CodeUnknownField         = "unknown_field"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnauthenticated      = "unauthenticated"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeConflict             = "conflict"
	CodeQuotaExceeded        = "quota_exceeded"
	CodeTooManyRequests      = "too_many_requests"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInternal             = "internal"
)

// TypeBase prefixes a code to form the problem's type URI.
const TypeBase = "https://nimbus.dev/problems/"

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Error is an error meant for the API's caller.
type Error struct {
	Status     int
	Code       string
	Detail     string
	Field      string
	Conflicts  []string
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Detail
	}
	return e.Code + ": " + e.Detail
}

// New returns an error with the given status and code.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value in field.
func Invalid(field, format string, args ...any) *Error {
	e := New(http.StatusBadRequest, CodeInvalidField, format, args...)
	e.Field = field
	return e
}

// NotFound reports that an object of kind named name does not exist, or is
// not visible to the caller: the two are indistinguishable on purpose.
func NotFound(kind, name string) *Error {
	return New(http.StatusNotFound, CodeNotFound, "%s %q not found", kind, name)
}

// Forbidden reports that the caller may see the object but not do this to it.
func Forbidden(format string, args ...any) *Error {
	return New(http.StatusForbidden, CodeForbidden, format, args...)
}

// Conflict reports a clash with the current state.
func Conflict(field, format string, args ...any) *Error {
	e := New(http.StatusConflict, CodeConflict, format, args...)
	e.Field = field
	return e
}

// Unauthenticated reports missing or bad credentials.
func Unauthenticated(format string, args ...any) *Error {
	return New(http.StatusUnauthorized, CodeUnauthenticated, format, args...)
}

// Internal hides an internal failure behind a generic message.
func Internal() *Error {
	return New(http.StatusInternalServerError, CodeInternal, "internal error; the server log has the details")
}

// document is the JSON form of an Error (RFC 9457 plus our extensions).
type document struct {
	Type      string   `json:"type"`
	Title     string   `json:"title"`
	Status    int      `json:"status"`
	Detail    string   `json:"detail,omitempty"`
	Instance  string   `json:"instance,omitempty"`
	Code      string   `json:"code"`
	Field     string   `json:"field,omitempty"`
	Conflicts []string `json:"conflicts,omitempty"`
}

// Write sends e as a problem document for the request r.
func Write(w http.ResponseWriter, r *http.Request, e *Error) {
	doc := document{
		Type:      TypeBase + e.Code,
		Title:     http.StatusText(e.Status),
		Status:    e.Status,
		Detail:    e.Detail,
		Code:      e.Code,
		Field:     e.Field,
		Conflicts: e.Conflicts,
	}
	if r != nil {
		doc.Instance = r.URL.Path
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="nimbus"`)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(doc)
}
