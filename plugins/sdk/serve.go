package sdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ServeProposer serves p until the host stops the process. Call it from main,
// and write nothing to stdout before it.
func ServeProposer(p Proposer) {
	serve(plugin.PluginSet{KindProposer: &proposerPlugin{impl: p}})
}

// ServeValidator serves v until the host stops the process. Call it from main,
// and write nothing to stdout before it.
func ServeValidator(v Validator) {
	serve(plugin.PluginSet{KindValidator: &validatorPlugin{impl: v}})
}

func serve(set plugin.PluginSet) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: set},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts,
				grpc.MaxRecvMsgSize(MaxMessageSize),
				grpc.MaxSendMsgSize(MaxMessageSize),
				grpc.ChainUnaryInterceptor(recoverUnary),
			)
			return grpc.NewServer(opts...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "sdk",
			Output:     stderr,
			JSONFormat: true,
			Level:      hclog.Info,
		}),
	})
}

// recoverUnary turns a panic in a handler into an Internal error for that call,
// so one bad request does not take down the process and every call in flight.
func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			Logger().Error("handler panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = nil, status.Errorf(codes.Internal, "plugin panicked in %s: %v", info.FullMethod, r)
		}
	}()
	return next(ctx, req)
}

// stderr is the process's real standard error, taken before go-plugin's Serve
// replaces os.Stderr with a pipe into its stdio stream, which a host reads
// only if it asks to. The host reads the real stderr and re-emits each line.
var stderr = os.Stderr

// Logger returns a logger that writes hclog-compatible JSON lines to the
// process's standard error, which moosed parses and re-emits as its own
// structured logs with the plugin's name attached. It works before and after
// Serve, from any goroutine (Serve swaps os.Stderr; the logger keeps the
// original). The level comes from MOOSE_PLUGIN_LOG_LEVEL (debug, info, warn,
// error; default info).
func Logger() *slog.Logger { return NewLogger(stderr) }

// NewLogger is Logger writing to w.
func NewLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(os.Getenv("MOOSE_PLUGIN_LOG_LEVEL")))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				l, _ := a.Value.Any().(slog.Level)
				return slog.String("@level", levelName(l))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

func levelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}
