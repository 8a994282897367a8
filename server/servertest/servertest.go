// Package servertest starts a real, in-process moosed for tests: real gRPC and
// REST listeners on loopback ports, a fresh migrated PostgreSQL database, and
// the real services behind them. Tests (and users embedding Moose in their own
// tests) drive it exactly as a client would.
//
//	srv := servertest.Start(t)
//	conn, _ := grpc.NewClient(srv.GRPCAddr(), ...)
package servertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
)

// Server is a running in-process moosed.
type Server struct {
	srv  *server.Server
	stop func()
}

// Option adjusts the server's configuration before it starts.
type Option func(*server.Config)

// WithConfig lets a test change any configuration field.
func WithConfig(f func(*server.Config)) Option { return Option(f) }

// WithDatabaseURL points the server at a given database instead of a fresh one
// (to start two servers against one database, for example).
func WithDatabaseURL(url string) Option {
	return func(c *server.Config) { c.DatabaseURL = url }
}

// Start starts a server on a fresh database and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := baseConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = dbtest.DSN(t)
	}
	return start(t, cfg)
}

// StartEmbedded starts a server on its own embedded PostgreSQL cluster under
// the configured DataDir (which the options must set), as moosed does with no
// database URL. It costs an initdb on first use of a directory.
func StartEmbedded(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := baseConfig(t)
	for _, o := range opts {
		o(&cfg)
	}
	cfg.DatabaseURL = ""
	return start(t, cfg)
}

// TestBuildCacheSeed is the build-cache seed test servers share (one per
// user): it holds only what building moosed's own seed module produced, so
// sharing it across tests shares no project's code.
func TestBuildCacheSeed() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("moose-test-buildcache-%d", os.Getuid()), "seed")
}

func baseConfig(t testing.TB) server.Config {
	return server.Config{
		GRPCAddr:        "127.0.0.1:0",
		HTTPAddr:        "127.0.0.1:0",
		DataDir:         t.TempDir(),
		BuildCacheSeed:  TestBuildCacheSeed(),
		ShutdownTimeout: 5 * time.Second,
		DrainTimeout:    5 * time.Second,
		Logger:          testLogger(),
	}
}

func start(t testing.TB, cfg server.Config) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("servertest: start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("servertest: server exited: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("servertest: server did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return &Server{srv: s, stop: stop}
}

// Stop shuts the server down gracefully and waits for it; the test's cleanup
// does the same if Stop is not called.
func (s *Server) Stop() { s.stop() }

// GRPCAddr is the gRPC address (host:port).
func (s *Server) GRPCAddr() string { return s.srv.GRPCAddr() }

// HTTPURL is the REST base URL, e.g. http://127.0.0.1:40123.
func (s *Server) HTTPURL() string { return "http://" + s.srv.HTTPAddr() }

// Server is the underlying server, for tests that need its internals.
func (s *Server) Server() *server.Server { return s.srv }

// testLogger is quiet unless MOOSE_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("MOOSE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// APIOnly makes the server schedule approved work orders without executing
// them, for tests of the API and lifecycle alone.
func APIOnly() Option { return func(c *server.Config) { c.APIOnly = true } }
