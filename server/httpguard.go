package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxRESTBody is the largest request body REST accepts: the gRPC server's own
// message limit, so what passes here is never refused behind the gateway.
const maxRESTBody = 16 << 20

// httpGuard wraps the REST handler with the checks browsers and odd clients
// need before the gateway sees a request:
//
//   - a cross-origin request (Origin naming another host) is refused unless its
//     origin is configured (Config.CORSOrigins), and allowed origins get CORS
//     headers and preflight answers;
//   - text that is not valid UTF-8 anywhere (path, query, body) is a 400, not
//     an internal error when the gateway fails to encode it;
//   - a body on POST, PUT, PATCH or DELETE must be application/json (415
//     otherwise), so an HTML form or a "simple" cross-site request cannot
//     drive the API;
//   - a body over maxRESTBody is a 413.
type httpGuard struct {
	next    http.Handler
	origins []string // exact origins ("https://ui.example.com"), or "*"
}

func (g *httpGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
		if !g.allowed(origin) {
			writeError(w, http.StatusForbidden, codes.PermissionDenied, "cross-origin request from "+origin+" refused: not in --cors-origins", "")
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if field, ok := invalidUTF8(r); ok {
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, "invalid request: "+field+": not valid UTF-8", field)
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength > 0 {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, codes.InvalidArgument,
					fmt.Sprintf("request bodies must be application/json, got %q", ct), "")
				return
			}
		}
		if r.ContentLength > maxRESTBody {
			writeError(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, tooLarge, "")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRESTBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, tooLarge, "")
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, codes.InvalidArgument, "read request body: "+err.Error(), "body")
			return
		case !utf8.Valid(body):
			writeError(w, http.StatusBadRequest, codes.InvalidArgument, "invalid request: body: not valid UTF-8", "body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	g.next.ServeHTTP(w, r)
}

var tooLarge = fmt.Sprintf("request body larger than %d MiB", maxRESTBody>>20)

func (g *httpGuard) allowed(origin string) bool {
	return slices.Contains(g.origins, "*") || slices.Contains(g.origins, strings.TrimRight(origin, "/"))
}

// sameOrigin reports whether the Origin header names the host the request was
// sent to (a page served by moosed's own listener).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// invalidUTF8 names the first part of the request that is not valid UTF-8
// once percent-decoded.
func invalidUTF8(r *http.Request) (string, bool) {
	if !utf8.ValidString(r.URL.Path) {
		return "path", true
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "query", !utf8.ValidString(r.URL.RawQuery)
	}
	for k, vs := range q {
		if !utf8.ValidString(k) {
			return "query", true
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return k, true
			}
		}
	}
	return "", false
}

// writeError answers in the gateway's error shape ({"code","message","details"}),
// with a field violation when field is set.
func writeError(w http.ResponseWriter, httpStatus int, code codes.Code, msg, field string) {
	st := status.New(code, msg)
	if field != "" {
		if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: "not valid UTF-8"}}}); err == nil {
			st = d
		}
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(st.Proto())
	if err != nil {
		b = []byte(`{"code":13,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}

// restRoutingErrorHandler answers a path served for other methods with 405
// (the gateway's default is 501) and keeps the default for everything else.
func restRoutingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusMethodNotAllowed {
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{
			HTTPStatus: http.StatusMethodNotAllowed,
			Err:        status.Errorf(codes.Unimplemented, "method %s not allowed on %s", r.Method, r.URL.Path),
		})
		return
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}

// methodNotAllowed answers 405 for a path served only with the given methods
// (without it the catch-all gateway would answer 404).
func methodNotAllowed(allowed ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, codes.Unimplemented, fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path), "")
	}
}
