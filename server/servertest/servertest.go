// Package servertest starts a real, in-process moosed for tests: real gRPC and
// REST listeners on loopback ports, a fresh migrated PostgreSQL database, and
// the real services behind them. Tests (and users embedding Moose in their own
// tests) drive it exactly as a client would.
//
//	srv := servertest.Start(t)
//	conn := srv.Dial(t) // sends srv.AdminToken() with every call
package servertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
)

// Server is a running in-process moosed.
type Server struct {
	srv        *server.Server
	stop       func()
	adminToken string
}

// AdminTokenName names the admin token every Server mints for its tests.
const AdminTokenName = "servertest-admin"

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
	var roots []string
	if root, err := repoRoot(); err == nil {
		roots = []string{root}
	}
	return server.Config{
		RepoRoots:       roots,
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
	// Every server mints its own admin token (a server sharing another's
	// database finds the bootstrap token already taken).
	secret, err := s.MintToken(ctx, fmt.Sprintf("%s-%d", AdminTokenName, tokenSeq.Add(1)), "admin")
	if err != nil {
		stop()
		t.Fatalf("servertest: mint admin token: %v", err)
	}
	return &Server{srv: s, stop: stop, adminToken: secret}
}

var tokenSeq atomic.Int64

// AdminToken is a token with the admin scope, for the test's own clients.
func (s *Server) AdminToken() string { return s.adminToken }

// Token mints a token with the given scopes ("read", "write", "admin").
func (s *Server) Token(t testing.TB, scopes ...string) string {
	t.Helper()
	secret, err := s.srv.MintToken(context.Background(), fmt.Sprintf("servertest-%s-%d", strings.Join(scopes, "-"), tokenSeq.Add(1)), scopes...)
	if err != nil {
		t.Fatalf("servertest: mint token: %v", err)
	}
	return secret
}

// NamedToken mints a token with a chosen name, which the server records as
// the actor of what it does.
func (s *Server) NamedToken(t testing.TB, name string, scopes ...string) string {
	t.Helper()
	secret, err := s.srv.MintToken(context.Background(), name, scopes...)
	if err != nil {
		t.Fatalf("servertest: mint token %s: %v", name, err)
	}
	return secret
}

// Dial returns a gRPC connection that sends the admin token with every call;
// it is closed when the test ends.
func (s *Server) Dial(t testing.TB) *grpc.ClientConn {
	t.Helper()
	return s.DialToken(t, s.adminToken)
}

// DialToken is Dial with another token ("" sends none).
func (s *Server) DialToken(t testing.TB, secret string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if secret != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(Bearer(secret)))
	}
	conn, err := grpc.NewClient(s.GRPCAddr(), opts...)
	if err != nil {
		t.Fatalf("servertest: dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// HTTPClient is an HTTP client that sends the admin token with every request.
func (s *Server) HTTPClient() *http.Client { return HTTPClientWithToken(s.adminToken) }

// HTTPClientWithToken is an HTTP client sending "Authorization: Bearer secret".
func HTTPClientWithToken(secret string) *http.Client {
	return &http.Client{Transport: bearerTransport{secret: secret, next: http.DefaultTransport}}
}

type bearerTransport struct {
	secret string
	next   http.RoundTripper
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.secret)
	return b.next.RoundTrip(r)
}

// Bearer is gRPC per-call credentials sending secret as a bearer token over
// any transport (the test servers listen on loopback, in plaintext).
type Bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b Bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (Bearer) RequireTransportSecurity() bool { return false }

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

var (
	repoRootOnce sync.Once
	repoRootDir  string
	repoRootErr  error
)

// repoRoot is the directory every test server allows local repositories
// under: one per test process, searchable by every user (moosed refuses a
// local repo_url the unprivileged user cannot read, and t.TempDir is 0700).
func repoRoot() (string, error) {
	repoRootOnce.Do(func() {
		repoRootDir, repoRootErr = os.MkdirTemp("", "moose-servertest-repos-")
		if repoRootErr == nil {
			repoRootErr = os.Chmod(repoRootDir, 0o755)
		}
	})
	return repoRootDir, repoRootErr
}

// RepoDir returns a new directory, readable by every user, under the
// repository root every test server allows (Config.RepoRoots): the place for
// a test's local git repositories. It is removed when the test ends.
func RepoDir(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("servertest: repository root: %v", err)
	}
	dir, err := os.MkdirTemp(root, "repo-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatalf("servertest: repository dir: %v", err)
	}
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
		_ = os.RemoveAll(dir)
	})
	return dir
}
