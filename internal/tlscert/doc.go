// Package tlscert provides the server's TLS certificate: the operator's own
// files when present, otherwise a self-signed ECDSA P-256 certificate that is
// generated once and kept in the data directory.
package tlscert
