package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
	"github.com/nimbus-cloud/nimbus/internal/validate"
)

// toProblem turns any error a handler returns into a problem for the caller.
// Errors it does not know are logged and hidden behind a generic 500.
func (s *Server) toProblem(ctx context.Context, err error) *problem.Error {
	var (
		pe       *problem.Error
		fe       *validate.FieldError
		conflict *store.ConflictError
		batch    *store.BatchConflictError
		quota    *store.QuotaExceededError
		inUse    *store.InUseError
	)
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &fe):
		return problem.Invalid(fe.Field, "%s", fe.Message)
	case errors.As(err, &batch):
		taken := fmt.Sprintf("%d names are taken", len(batch.Names))
		if len(batch.Names) == 1 {
			taken = "1 name is taken"
		}
		e := problem.Conflict("prefix", "%s: %v; choose another prefix or range", taken, batch.Names)
		e.Conflicts = batch.Names
		return e
	case errors.As(err, &conflict):
		return problem.Conflict(conflict.Field, "%s", conflict.Error())
	case errors.As(err, &quota):
		return &problem.Error{Status: http.StatusConflict, Code: problem.CodeQuotaExceeded, Field: quota.Resource,
			Detail: quota.Error() + "; ask a platform admin to raise the quota, or free resources"}
	case errors.As(err, &inUse):
		return problem.Conflict("", "%s", inUse.Error())
	case errors.Is(err, store.ErrNotFound):
		return problem.New(http.StatusNotFound, problem.CodeNotFound, "%s", err)
	case errors.Is(err, context.Canceled), ctx.Err() != nil:
		// The client went away (a broken pipe, say): nothing failed here.
		return problem.New(499, "canceled", "request canceled")
	}
	s.log.ErrorContext(ctx, "request failed", "request_id", infoFrom(ctx).id, "err", err)
	return problem.Internal()
}

// wrapNotFound turns the store's ErrNotFound into a 404 naming the object.
func wrapNotFound(err error, kind, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound(kind, name)
	}
	if err != nil {
		return fmt.Errorf("load %s %q: %w", kind, name, err)
	}
	return nil
}
