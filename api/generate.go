// Package api is the Nimbus REST API contract: openapi.yaml is the single
// source of truth, and api.gen.go, generated from it by oapi-codegen, holds
// the wire types, the strict server interface with its net/http router, and
// the Go client. Spec and SpecJSON give the spec itself to the server (request
// validation, /api/v1/openapi.json).
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml
