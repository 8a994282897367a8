package api

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pgfault"
)

// StatusFromError maps a domain error to a gRPC status. It is the only place
// that does: validation errors carry one BadRequest field violation per
// problem; errors the client cannot act on become Internal with a generic
// message, so database text never reaches a client (it is logged instead).
func StatusFromError(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	orig := err
	err = pgfault.Translate(err)
	var ve *fault.ValidationError
	var pe *fault.PreconditionError
	switch {
	case errors.As(err, &ve):
		br := &errdetails.BadRequest{}
		for _, v := range ve.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Reason})
		}
		st := status.New(codes.InvalidArgument, ve.Error())
		if withDetails, derr := st.WithDetails(br); derr == nil {
			st = withDetails
		}
		return st.Err()
	case errors.As(err, &pe):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, fault.ErrFailedPrecondition):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, fault.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, fault.ErrConflict):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, fault.ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, fault.ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, fault.ErrResourceExhausted):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, fault.ErrUnavailable):
		if log != nil && pgfault.IsOutage(err) {
			log.WarnContext(ctx, "database unavailable", "err", orig)
		}
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	if log != nil {
		log.ErrorContext(ctx, "internal error", "err", err)
	}
	return status.Error(codes.Internal, "internal error")
}
