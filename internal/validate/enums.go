package validate

import (
	"slices"
	"strings"
)

// Overcommit ratio bounds.
const (
	MinOvercommit = 1.0
	MaxOvercommit = 10.0
)

// Permission checks a permission string "resource:verb" against the known
// permissions.
func Permission(field, p string, known []string) error {
	if !slices.Contains(known, p) {
		return fail(field, "must be one of "+strings.Join(known, ", "))
	}
	return nil
}

// Permissions checks a list of permissions: each known, none repeated.
// Errors name the element, e.g. "permissions[2]".
func Permissions(field string, ps, known []string) error {
	for i, p := range ps {
		if err := Permission(Index(field, i), p, known); err != nil {
			return err
		}
		if slices.Contains(ps[:i], p) {
			return fail(Index(field, i), "repeats "+p)
		}
	}
	return nil
}

// Overcommit checks a CPU or memory overcommit ratio: from 1 to 10.
func Overcommit(field string, x float64) error {
	if !(x >= MinOvercommit && x <= MaxOvercommit) { // also rejects NaN
		return fail(field, "must be between 1 and 10")
	}
	return nil
}

// Strategy checks a cluster placement strategy: "binpack" or "spread".
func Strategy(field, s string) error {
	if s != "binpack" && s != "spread" {
		return fail(field, "must be binpack or spread")
	}
	return nil
}

// Role checks a tenant role: "admin", "member" or "viewer".
func Role(field, s string) error {
	if s != "admin" && s != "member" && s != "viewer" {
		return fail(field, "must be admin, member or viewer")
	}
	return nil
}
