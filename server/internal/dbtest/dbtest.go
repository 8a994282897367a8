// Package dbtest gives tests real PostgreSQL databases with Moose's schema.
//
// Every call to New or DSN returns a fresh database cloned (CREATE DATABASE ...
// TEMPLATE) from a template that has all migrations applied, so a test pays
// ~50-100 ms instead of a full migration run, and tests never see each other's
// rows. Templates are keyed by migrations.Hash(), so editing a migration makes
// a new template on the next run. A passing test's database is dropped in its
// cleanup; a failing test's database is kept for inspection (its DSN is in the
// test log).
//
// Which server: if MOOSE_TEST_DATABASE_URL is set (a postgres:// URL of a role
// that may create roles and databases), tests use it. Otherwise the first test
// binary that needs a database starts a private PostgreSQL with package pgembed
// in <TMPDIR>/moose-testpg-private-<uid>/data, and every other test binary, in this
// `go test` run and later ones, attaches to it. A file lock next to the data
// directory serializes that start across the test binaries `go test` runs in
// parallel. The server is started Shared (no Pdeathsig, own session), so it
// outlives the binary that started it: `make test` leaves it running and the
// next run starts in milliseconds. A killed test binary cannot break later
// runs: the flock dies with it, and pgembed handles a dead server's leftovers.
// Like every pgembed cluster it is reachable only over its socket, with the
// password in its data directory (see package pgembed).
// To stop it: kill -INT $(head -1 <TMPDIR>/moose-testpg-private-<uid>/data/postmaster.pid);
// deleting the directory afterwards resets everything.
package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"

	"github.com/moosehq/moose/migrations"
	"github.com/moosehq/moose/server/internal/pgembed"
)

// EnvDatabaseURL names the variable that points tests at an existing server.
const EnvDatabaseURL = "MOOSE_TEST_DATABASE_URL"

// New returns a pool connected to a fresh, migrated database that is dropped
// when the test ends (after the pool is closed).
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := DSN(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("dbtest: parse dsn: %v", err)
	}
	// pgxpool's default (max(4, CPUs)) is 4 on small machines; River alone
	// holds one connection for LISTEN.
	cfg.MaxConns = 10
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("dbtest: open pool: %v", err)
	}
	// Registered after DSN's cleanup, so it runs first: the pool is closed
	// before the database is dropped.
	t.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatalf("dbtest: ping test database: %v", err)
	}
	return pool
}

// DSN returns the postgres:// URL of a fresh, migrated database that is
// dropped when the test ends; connections still open then are terminated.
func DSN(t testing.TB) string {
	t.Helper()
	conf := baseConfig(t)
	conf.ForceTerminateConnections = true
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// AdminDSN returns a superuser URL of the test server's "postgres" database,
// for tests that create databases or roles themselves (say, two servers
// sharing one database). Such tests must clean up after themselves.
func AdminDSN(t testing.TB) string {
	t.Helper()
	return testServer(t)
}

// migrator builds the template database with Moose's migrations.
type migrator struct{}

func (migrator) Hash() (string, error) { return migrations.Hash(), nil }

func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	return migrations.Up(ctx, db)
}

// baseConfig describes the test server as pgtestdb wants it.
func baseConfig(t testing.TB) pgtestdb.Config {
	t.Helper()
	conf, err := configFromURL(testServer(t))
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return conf
}

func configFromURL(raw string) (pgtestdb.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return pgtestdb.Config{}, fmt.Errorf("%s must be a postgres:// URL", EnvDatabaseURL)
	}
	conf := pgtestdb.Config{
		DriverName: "pgx",
		Host:       u.Hostname(),
		Port:       u.Port(),
		User:       u.User.Username(),
		Database:   strings.TrimPrefix(u.Path, "/"),
		Options:    u.RawQuery,
	}
	conf.Password, _ = u.User.Password()
	q := u.Query()
	if conf.Port == "" {
		conf.Port = q.Get("port")
	}
	if conf.Port == "" {
		conf.Port = "5432"
	}
	// A socket directory (host=/path in the query, as pgembed's DSN has it)
	// stays in Options, which pgtestdb appends to every URL it builds; the
	// URL's host part is then empty.
	if conf.Host == "" && !strings.HasPrefix(q.Get("host"), "/") {
		conf.Host = "localhost"
	}
	if conf.Database == "" {
		conf.Database = "postgres"
	}
	return conf, nil
}

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

// testServer returns the admin URL of the server tests use, starting or
// attaching to the shared cluster once per test binary.
func testServer(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		if u := os.Getenv(EnvDatabaseURL); u != "" {
			serverURL = u
			return
		}
		serverURL, serverErr = sharedCluster()
	})
	if serverErr != nil {
		t.Fatalf("dbtest: %v (or set %s to use an existing server)", serverErr, EnvDatabaseURL)
	}
	return serverURL
}

// sharedCluster starts or attaches to the cluster all test binaries share.
func sharedCluster() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Not the moose-testpg-<uid> of earlier versions: a cluster of theirs
	// (trust, TCP) may be in use by another checkout's tests right now.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("moose-testpg-private-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	// As root the server runs as the postgres user, which must enter dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("chmod %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("open lock file: %w", err)
	}
	defer lock.Close() // closing releases the flock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}

	dataDir := filepath.Join(dir, "data")
	opts := pgembed.Options{
		DataDir:  dataDir,
		Shared:   true,
		Settings: map[string]string{"max_connections": "300"},
	}
	c, err := pgembed.Start(ctx, opts)
	if err != nil && !errors.Is(err, pgembed.ErrNoBinaries) && !errors.Is(err, pgembed.ErrDirNotReachable) {
		// The data is throwaway: a cluster broken beyond what pgembed repairs
		// (a tmp cleaner ate files, an interrupted initdb) is rebuilt.
		if rmErr := os.RemoveAll(dataDir); rmErr != nil {
			return "", errors.Join(err, rmErr)
		}
		c, err = pgembed.Start(ctx, opts)
	}
	if err != nil {
		return "", err
	}
	if !c.Reused() {
		// Nobody else can be using a server we just started (we hold the
		// lock), so databases kept by failed tests of earlier runs can go.
		dropLeftovers(ctx, c.DSN("postgres"))
	}
	return c.DSN("postgres"), nil
}

// dropLeftovers drops test databases (not templates) left by failed tests.
// Best effort: a leftover only costs disk space.
func dropLeftovers(ctx context.Context, adminDSN string) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'testdb_tpl_%_inst_%' AND NOT datistemplate")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	}
}
