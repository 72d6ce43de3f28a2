package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	nethttpmiddleware "github.com/oapi-codegen/nethttp-middleware"

	"github.com/nimbus-cloud/nimbus/internal/problem"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// requestValidator checks each API request against the OpenAPI document before
// any handler runs, and turns what it finds into problem details that name
// the offending field.
func requestValidator(spec *openapi3.T) func(http.Handler) http.Handler {
	validate := nethttpmiddleware.OapiRequestValidatorWithOptions(spec, &nethttpmiddleware.Options{
		Options: openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			MultiError:         false,
		},
		SilenceServersWarning: true,
		ErrorHandlerWithOpts: func(_ context.Context, err error, w http.ResponseWriter, r *http.Request, opts nethttpmiddleware.ErrorHandlerOpts) {
			problem.Write(w, r, validationProblem(err, opts.StatusCode))
		},
	})
	return func(next http.Handler) http.Handler {
		checked := validate(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength != 0 && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
				if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
					problem.Write(w, r, &problem.Error{Status: http.StatusUnsupportedMediaType, Code: problem.CodeUnsupportedMediaType,
						Field: "Content-Type", Detail: "send the body as JSON with Content-Type: application/json"})
					return
				}
			}
			checked.ServeHTTP(w, r)
		})
	}
}

// validationProblem maps a kin-openapi validation error to a problem.
func validationProblem(err error, status int) *problem.Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return problem.New(http.StatusRequestEntityTooLarge, problem.CodeBodyTooLarge,
			"request body is larger than %d bytes", tooBig.Limit)
	}
	if status == http.StatusNotFound {
		return problem.New(http.StatusNotFound, problem.CodeNotFound, "no such API endpoint; see /api/v1/openapi.json")
	}
	if status == http.StatusMethodNotAllowed {
		return problem.New(http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed, "method not allowed on this endpoint")
	}
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidField, "%s", firstLine(err.Error()))
	}
	var parseErr *openapi3filter.ParseError
	if reqErr.RequestBody != nil && errors.As(err, &parseErr) {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "request body is not valid JSON: %s", firstLine(parseErr.Error()))
	}
	var schemaErr *openapi3.SchemaError
	if errors.As(err, &schemaErr) {
		field := jsonPath(schemaErr.JSONPointer())
		if reqErr.Parameter != nil {
			field = reqErr.Parameter.Name
		}
		if strings.HasSuffix(schemaErr.Reason, " is unsupported") {
			name := quoted(schemaErr.Reason)
			if field != "" && name != "" {
				field += "." + name
			} else if name != "" {
				field = name
			}
			return &problem.Error{Status: http.StatusBadRequest, Code: problem.CodeUnknownField, Field: field,
				Detail: "unknown field; see the API document for the accepted fields"}
		}
		if schemaErr.SchemaField == "required" {
			return problem.Invalid(field, "is required")
		}
		if field == "" && reqErr.RequestBody != nil {
			return problem.New(http.StatusBadRequest, problem.CodeInvalidField, "request body: %s", schemaErr.Reason)
		}
		return problem.Invalid(field, "%s", schemaErr.Reason)
	}
	if reqErr.Parameter != nil {
		return problem.Invalid(reqErr.Parameter.Name, "%s", firstLine(reqErr.Error()))
	}
	if reqErr.RequestBody != nil && errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired) {
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "request body is required")
	}
	return problem.New(http.StatusBadRequest, problem.CodeInvalidField, "%s", firstLine(reqErr.Error()))
}

// jsonPath renders a JSON pointer's parts as `a.b[2].c`.
func jsonPath(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			fmt.Fprintf(&b, "[%s]", p)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// quoted returns the first double-quoted word in s.
func quoted(s string) string {
	start := strings.IndexByte(s, '"')
	if start < 0 {
		return ""
	}
	end := strings.IndexByte(s[start+1:], '"')
	if end < 0 {
		return ""
	}
	return s[start+1 : start+1+end]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
