package moose

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

// ErrPagingLoop means the server handed back a page token it had already
// given, which would otherwise page forever.
var ErrPagingLoop = errors.New("page token repeated")

// Status returns the gRPC status carried by err, unwrapping the context this
// package adds, so Message is the server's own text. It returns nil when err
// carries no status (a local error, or nil).
func Status(err error) *status.Status {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return nil
	}
	return se.GRPCStatus()
}

// FieldViolation is one invalid field of a request, as reported by moosed.
type FieldViolation struct {
	Field       string
	Description string
}

// FieldViolations returns the per-field problems of an InvalidArgument error
// (google.rpc.BadRequest details), in the server's order; nil if there are none.
func FieldViolations(err error) []FieldViolation {
	st := Status(err)
	if st == nil {
		return nil
	}
	var out []FieldViolation
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
		}
	}
	return out
}
