package store

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match with errors.Is; the typed errors below wrap them.
var (
	// ErrNotFound reports a missing object.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a write that would break a uniqueness rule.
	ErrConflict = errors.New("conflict")
	// ErrInUse reports a delete or change refused because of usage or dependents.
	ErrInUse = errors.New("in use")
	// ErrQuotaExceeded reports an admission refused by a quota tier.
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrInvalidPageToken reports a page token the store did not issue for this list.
	ErrInvalidPageToken = errors.New("invalid page token")
)

// NotFoundError names the missing object and the key it was looked up by.
type NotFoundError struct {
	Object string // e.g. "user", "quota tier"
	Key    string // e.g. `"alice"` or `priority 2 on cluster "default"`
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s not found", e.Object, e.Key) }

// Is reports whether target is [ErrNotFound].
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError names the object and field whose value is already taken.
type ConflictError struct {
	Object string // e.g. "user"
	Field  string // e.g. "name"
	Value  string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s with %s %q already exists", e.Object, e.Field, e.Value)
}

// Is reports whether target is [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// BatchConflictError lists every name of a batch that is already taken (or
// repeated within the batch). Nothing of the batch was written.
type BatchConflictError struct {
	Names []string // sorted
}

func (e *BatchConflictError) Error() string {
	return fmt.Sprintf("%d names already taken: %s", len(e.Names), strings.Join(e.Names, ", "))
}

// Is reports whether target is [ErrConflict].
func (e *BatchConflictError) Is(target error) bool { return target == ErrConflict }

// InUseError reports a delete or change refused because the object has usage
// or dependents.
type InUseError struct {
	Object string // e.g. `tenant "RD_Dept"`
	Reason string // e.g. `quota tier 0 on cluster "default" uses cpu 2`
	// Tier, for a refused quota change, is the priority of the tier at
	// fault, and Resource the limit refused ("cpu", "memory_mib", ...) when
	// one is.
	Tier     *int
	Resource string
}

func (e *InUseError) Error() string { return fmt.Sprintf("%s is in use: %s", e.Object, e.Reason) }

// Is reports whether target is [ErrInUse].
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// QuotaExceededError names the first resource of a request that does not fit
// in its quota tier.
type QuotaExceededError struct {
	Resource  string // "cpu", "memory_mib", "storage_mib" or "network_mbps"
	Requested float64
	Used      float64
	Limit     float64
	Priority  int
}

func (e *QuotaExceededError) Error() string {
	return fmt.Sprintf("quota exceeded for %s in tier %d: requested %g, used %g, limit %g",
		e.Resource, e.Priority, e.Requested, e.Used, e.Limit)
}

// Is reports whether target is [ErrQuotaExceeded].
func (e *QuotaExceededError) Is(target error) bool { return target == ErrQuotaExceeded }
