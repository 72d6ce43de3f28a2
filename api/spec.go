package api

import (
	"context"
	_ "embed"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed openapi.yaml
var specYAML []byte

// load parses and validates the embedded spec.
func load() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi spec: %w", err)
	}
	return doc, nil
}

var loadSpec = sync.OnceValues(load)

// specJSON marshals a document of its own, so that changes a caller makes
// to the shared one from Spec (as some validator options do) never leak out.
var specJSON = sync.OnceValue(func() []byte {
	doc, err := load()
	if err != nil {
		panic(err)
	}
	b, err := doc.MarshalJSON()
	if err != nil {
		panic(fmt.Errorf("marshal openapi spec: %w", err))
	}
	return b
})

// Spec returns the embedded OpenAPI document, loaded and validated on the
// first call. Every call returns the same document: callers must not modify it.
func Spec() (*openapi3.T, error) {
	return loadSpec()
}

// SpecJSON returns the embedded OpenAPI document as JSON, for serving at
// /api/v1/openapi.json. It panics if the embedded spec is invalid, which the
// package tests rule out.
func SpecJSON() []byte {
	return specJSON()
}
