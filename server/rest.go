package server

import (
	"context"
	"net/http"
	"regexp"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// unknownField matches protojson's message for a JSON field the request
// message does not have.
var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// restErrorHandler is the gateway's default error handler, except that a body
// the gateway itself refused (unknown field, malformed JSON) gets the same
// shape as every other invalid request: InvalidArgument with a field violation.
func restErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		field, reason := "body", st.Message()
		if m := unknownField.FindStringSubmatch(st.Message()); m != nil {
			field, reason = m[1], "unknown field"
		}
		withDetails, derr := status.New(codes.InvalidArgument, "invalid request: "+field+": "+reason).WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reason}},
		})
		if derr == nil {
			err = withDetails.Err()
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}
