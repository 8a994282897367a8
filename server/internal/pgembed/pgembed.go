package pgembed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Superuser is the superuser role initdb creates; DSN connects as it.
const Superuser = "moose"

// DefaultDatabase is the database Start creates in every cluster.
const DefaultDatabase = "moose"

// logName is the file in the data directory that receives the server's output.
const logName = "moose-postgres.log"

// ownerName records the pid of the process that launched the running server,
// so a later Start can tell an orphan (parent gone) from a server in use.
const ownerName = "moose-owner.pid"

var (
	// ErrNoBinaries means no PostgreSQL server binaries (postgres, initdb) were found.
	ErrNoBinaries = errors.New("PostgreSQL server binaries not found; install them with: apt-get install -y postgresql (or point moosed at an existing server with --database-url)")
	// ErrDirNotReachable means the data directory cannot be used by the
	// unprivileged user the server must run as when the caller is root.
	ErrDirNotReachable = errors.New("data directory not reachable by the PostgreSQL user")
	// ErrInUse means a server started by another live process already runs on the data directory.
	ErrInUse = errors.New("data directory is in use by another running PostgreSQL")
)

// Options configures Start.
type Options struct {
	// DataDir holds the cluster; it is created (and initdb run) if it has none.
	DataDir string
	// Port names the server's socket (.s.PGSQL.<port>); 0 means 5432. The
	// server opens no TCP port at all, so ports never collide.
	Port int
	// SocketDir is where the socket lives. Empty means the data directory
	// (mode 0700, owned by the server's user) unless that path is too long
	// for a socket address; then a fresh private directory under the system
	// temporary directory is made.
	SocketDir string
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
	// BinDir overrides where postgres and initdb are looked for.
	BinDir string
	// Fsync keeps PostgreSQL's durability settings. Leave it false only for
	// throwaway clusters (tests): it makes writes several times faster.
	Fsync bool
	// Shared makes the server outlive this process (no Pdeathsig, own session)
	// and makes Start attach to a server already running on DataDir.
	Shared bool
	// Settings are extra server settings passed as -c name=value; they
	// override the defaults.
	Settings map[string]string
	// StartTimeout bounds how long Start waits for the server to accept
	// connections; 0 means 30s.
	StartTimeout time.Duration
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	dataDir   string
	socketDir string
	port      int
	pid       int
	password  string
	logger    *slog.Logger
	reused    bool
	// exited is closed when our child exits; nil when we attached to a server
	// some other process launched (then we poll the pid).
	exited <-chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// Start starts (creating if needed) the cluster in opts.DataDir and returns once
// it accepts connections and the database "moose" exists.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("start postgres: data directory is required")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: resolve data directory: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}

	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	as, err := runAsUser()
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if err := prepareDataDir(dataDir, as); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		logger.Info("initializing postgres cluster", "data_dir", dataDir, "bin_dir", binDir)
		if err := initCluster(ctx, binDir, dataDir, as, opts.Fsync); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	if opts.Port == 0 {
		opts.Port = defaultPort
	}
	c, err := takeOverPrevious(ctx, dataDir, opts, logger)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if c == nil {
		password, err := makePrivate(ctx, binDir, dataDir, as, logger)
		if err != nil {
			return nil, fmt.Errorf("start postgres: make %s private: %w", dataDir, err)
		}
		c, err = launchServer(ctx, binDir, dataDir, password, as, opts, logger)
		if err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	}
	if err := c.ensureDatabase(ctx, DefaultDatabase); err != nil {
		_ = c.Stop(context.Background())
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	return c, nil
}

// DSN returns a postgres:// URL for dbname on this cluster, as the superuser
// with its password, over the socket: postgres://moose:PW@/DB?host=DIR&port=N.
func (c *Cluster) DSN(dbname string) string {
	q := url.Values{}
	q.Set("host", c.socketDir)
	q.Set("port", strconv.Itoa(c.port))
	q.Set("sslmode", "disable")
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(Superuser, c.password),
		Path:     "/" + dbname,
		RawQuery: q.Encode(),
	}
	return u.String()
}

// Port is the number in the socket's name (.s.PGSQL.<port>); no TCP port is open.
func (c *Cluster) Port() int { return c.port }

// SocketDir is the private directory holding the server's socket.
func (c *Cluster) SocketDir() string { return c.socketDir }

// Exited returns a channel closed when the server process has exited, for
// whatever reason (Stop, a crash, a kill).
func (c *Cluster) Exited() <-chan struct{} { return c.waitExit() }

// DataDir is the absolute path of the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// PID is the process id of the postmaster.
func (c *Cluster) PID() int { return c.pid }

// Reused reports whether Start attached to a server that was already running
// (only possible with Options.Shared) rather than launching one.
func (c *Cluster) Reused() bool { return c.reused }

// Stop shuts the server down: a fast shutdown (SIGINT, which rolls back open
// transactions and disconnects clients), then SIGKILL to the process group if
// it has not exited within 15s or when ctx ends. Calling Stop again returns the
// first result.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context) error {
	if err := syscall.Kill(c.pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop postgres: signal %d: %w", c.pid, err)
	}
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-c.waitExit():
		c.logger.Info("postgres stopped", "data_dir", c.dataDir)
		return nil
	case <-ctx.Done():
	case <-timer.C:
	}
	c.killGroup()
	select {
	case <-c.waitExit():
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stop postgres: pid %d survived SIGKILL", c.pid)
	}
	return fmt.Errorf("stop postgres: no clean shutdown, killed pid %d", c.pid)
}

// waitExit returns a channel closed when the server process has exited.
func (c *Cluster) waitExit() <-chan struct{} {
	if c.exited != nil {
		return c.exited
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for isServerOf(c.pid, c.dataDir) {
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return ch
}

// killGroup SIGKILLs the server's process group (it leads its own), falling
// back to the single process.
func (c *Cluster) killGroup() {
	if err := syscall.Kill(-c.pid, syscall.SIGKILL); err != nil {
		_ = syscall.Kill(c.pid, syscall.SIGKILL)
	}
}

// ensureDatabase creates dbname unless it exists. Several processes attaching
// to one shared cluster may race here, so "already exists" is success.
func (c *Cluster) ensureDatabase(ctx context.Context, dbname string) error {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbname).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", dbname, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbname}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", dbname, err)
	}
	return nil
}

// findBinDir locates a directory holding both postgres and initdb.
func findBinDir(override string) (string, error) {
	if override != "" {
		if hasServerBinaries(override) {
			return override, nil
		}
		return "", fmt.Errorf("%w (looked in %s)", ErrNoBinaries, override)
	}
	// pg_config may come from libpq-dev of another major version than the
	// server, so its answer is checked, not trusted.
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			if dir := strings.TrimSpace(string(out)); hasServerBinaries(dir) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, dir := range dirs {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if dir := filepath.Dir(p); hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func majorOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"postgres", "initdb"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// logTail returns the last lines of the server log, for error messages.
func logTail(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, logName))
	if err != nil {
		return ""
	}
	return lastLines(string(b), 15)
}
