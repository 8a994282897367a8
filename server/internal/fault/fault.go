// Package fault defines the error vocabulary shared by Moose's domain packages.
//
// Domain code wraps these sentinels with context (fmt.Errorf("approve work order
// %s: %w", id, fault.ErrNotFound)); exactly one function at the API edge maps them
// to gRPC status codes. Nothing here knows about gRPC, so domain packages stay
// free of transport concerns.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound: the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the resource already exists or was changed concurrently.
	ErrConflict = errors.New("conflict")
	// ErrFailedPrecondition: the operation is not allowed in the current state
	// (an illegal lifecycle transition, for example).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: a dependency (a plugin, a provider) cannot serve now;
	// retrying later may help.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthenticated: the request carries no valid credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied: the caller is known but may not do this.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrResourceExhausted: the caller holds too much (streams, buffer) now.
	ErrResourceExhausted = errors.New("resource exhausted")
)

// FieldViolation names one invalid field of a request and why.
type FieldViolation struct {
	Field  string
	Reason string
}

// ValidationError reports every invalid field of a request at once.
type ValidationError struct {
	Violations []FieldViolation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Reason
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// Add records a violation.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Violations = append(e.Violations, FieldViolation{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns nil when no violation was recorded, so callers can collect
// violations and return `v.Err()` unconditionally.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Violations) == 0 {
		return nil
	}
	return e
}

// Join merges the violations of validation errors into one, so a request
// learns every problem at once; any other error is returned as it is.
func Join(errs ...error) error {
	out := &ValidationError{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		out.Violations = append(out.Violations, ve.Violations...)
	}
	return out.Err()
}

// Invalid is a shorthand for a single-field ValidationError.
func Invalid(field, format string, args ...any) error {
	v := &ValidationError{}
	v.Add(field, format, args...)
	return v
}

// PreconditionError is an ErrFailedPrecondition that names the current state, so
// a client learns why the operation was refused.
type PreconditionError struct {
	Op      string
	Current string
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("cannot %s: work order is %s", e.Op, e.Current)
}

func (e *PreconditionError) Unwrap() error { return ErrFailedPrecondition }
