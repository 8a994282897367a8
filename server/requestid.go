package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Every call gets a request id: the caller's X-Request-Id (gRPC metadata
// x-request-id; REST passes the header through), else the trace id of its
// W3C traceparent, else a new one. It is returned in the response header
// x-request-id (REST: X-Request-Id), carried on every log line written with
// the call's context, and on the call's access log line.

const requestIDHeader = "x-request-id"

var (
	validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	traceparentRE  = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

// callInfo is what the log lines of one call share. The authenticator fills
// in the token's name; the secret is never kept.
type callInfo struct {
	requestID string
	mu        sync.Mutex
	tokenName string
}

func (c *callInfo) setToken(name string) {
	c.mu.Lock()
	c.tokenName = name
	c.mu.Unlock()
}

func (c *callInfo) token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenName
}

type callInfoKey struct{}

func callInfoFrom(ctx context.Context) *callInfo {
	c, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return c
}

// requestID picks the call's id from its metadata, or makes one.
func requestID(md metadata.MD) string {
	for _, v := range md.Get(requestIDHeader) {
		if validRequestID.MatchString(v) {
			return v
		}
	}
	for _, v := range md.Get("traceparent") {
		if m := traceparentRE.FindStringSubmatch(strings.TrimSpace(v)); m != nil && m[1] != strings.Repeat("0", 32) {
			return m[1]
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// startCall gives ctx its callInfo and sends the request id back.
func startCall(ctx context.Context, setHeader func(metadata.MD) error) (context.Context, *callInfo) {
	md, _ := metadata.FromIncomingContext(ctx)
	info := &callInfo{requestID: requestID(md)}
	_ = setHeader(metadata.Pairs(requestIDHeader, info.requestID))
	return context.WithValue(ctx, callInfoKey{}, info), info
}

// quietMethod reports calls not worth an access line (health probes).
func quietMethod(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

// accessLog writes the call's access line: method, status, duration, token
// name, request id (by the handler below).
func accessLog(ctx context.Context, log *slog.Logger, method string, err error, start time.Time, info *callInfo) {
	if quietMethod(method) {
		return
	}
	log.InfoContext(ctx, "call", "method", method, "code", status.Code(err).String(),
		"duration_ms", float64(time.Since(start).Microseconds())/1000, "token", info.token())
}

// callUnary is the outermost interceptor: request id, then the access line.
func callUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx, ci := startCall(ctx, func(md metadata.MD) error { return grpc.SetHeader(ctx, md) })
		resp, err := handler(ctx, req)
		accessLog(ctx, log, info.FullMethod, err, start, ci)
		return resp, err
	}
}

// callStream is callUnary for streams.
func callStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		ctx, ci := startCall(ss.Context(), ss.SetHeader)
		err := handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
		accessLog(ctx, log, info.FullMethod, err, start, ci)
		return err
	}
}

// requestIDHandler adds request_id to every record logged with a call's
// context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if ci := callInfoFrom(ctx); ci != nil {
		r.AddAttrs(slog.String("request_id", ci.requestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// restIncomingHeader passes X-Request-Id and traceparent through to gRPC,
// besides what the gateway passes by default.
func restIncomingHeader(key string) (string, bool) {
	switch strings.ToLower(key) {
	case requestIDHeader, "traceparent":
		return strings.ToLower(key), true
	}
	return runtime.DefaultHeaderMatcher(key)
}

// restOutgoingHeader returns the request id as X-Request-Id.
func restOutgoingHeader(key string) (string, bool) {
	if key == requestIDHeader {
		return "X-Request-Id", true
	}
	return runtime.MetadataHeaderPrefix + key, true
}
