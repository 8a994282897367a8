package pgembed_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/pgembed"
)

// The test binary doubles as a helper process (re-executed with these
// variables set) so tests can kill or end the process that owns a cluster.
const (
	helperModeEnv = "PGEMBED_TEST_HELPER"
	helperDirEnv  = "PGEMBED_TEST_DIR"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperModeEnv); mode != "" {
		os.Exit(runHelper(mode, os.Getenv(helperDirEnv)))
	}
	os.Exit(m.Run())
}

// runHelper starts a cluster, writes a row, reports "READY pid port", then
// either blocks until killed ("hold") or exits without stopping a shared
// cluster ("shared").
func runHelper(mode, dir string) int {
	ctx := context.Background()
	c, err := pgembed.Start(ctx, pgembed.Options{DataDir: dir, Shared: mode == "shared"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := exec1(ctx, c.DSN("moose"), "CREATE TABLE t (v text)", "INSERT INTO t VALUES ('from helper')"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("READY %d %d\n", c.PID(), c.Port())
	if mode == "hold" {
		select {}
	}
	return 0
}

func exec1(ctx context.Context, dsn string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// dataDir returns a fresh directory for a cluster. When tests run as root the
// server runs as the postgres user, which must be able to traverse the
// parents that t.TempDir creates with mode 0700.
func dataDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir() // <TMPDIR>/<TestName><random>/<NNN>, both 0700
	require.NoError(t, os.Chmod(base, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755))
	return filepath.Join(base, "data")
}

func start(t *testing.T, opts pgembed.Options) *pgembed.Cluster {
	t.Helper()
	c, err := pgembed.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func queryString(t *testing.T, dsn, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var s string
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&s))
	return s
}

func TestStartStopStartKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := dataDir(t)

	c := start(t, pgembed.Options{DataDir: dir})
	require.False(t, c.Reused())
	require.NotZero(t, c.Port())
	require.Contains(t, c.DSN("moose"), fmt.Sprintf("127.0.0.1:%d/moose", c.Port()))
	require.NoError(t, exec1(ctx, c.DSN("moose"), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('survives')"))
	require.Equal(t, "UTF8", queryString(t, c.DSN("moose"), "SHOW server_encoding"))
	require.Equal(t, "off", queryString(t, c.DSN("moose"), "SHOW fsync"))
	require.Equal(t, "200", queryString(t, c.DSN("moose"), "SHOW max_connections"))

	// A second server on a data directory in use must be refused, not started
	// and not allowed to kill the live one.
	_, err := pgembed.Start(ctx, pgembed.Options{DataDir: dir})
	require.ErrorIs(t, err, pgembed.ErrInUse)
	require.Equal(t, "survives", queryString(t, c.DSN("moose"), "SELECT v FROM kept"))

	require.NoError(t, c.Stop(ctx))
	_, err = pgx.Connect(ctx, c.DSN("moose"))
	require.Error(t, err, "server still accepts connections after Stop")
	require.NoFileExists(t, filepath.Join(dir, "postmaster.pid"))

	c2 := start(t, pgembed.Options{DataDir: dir, Fsync: true})
	require.Equal(t, "survives", queryString(t, c2.DSN("moose"), "SELECT v FROM kept"))
	require.Equal(t, "on", queryString(t, c2.DSN("moose"), "SHOW fsync"))
}

func TestNoBinaries(t *testing.T) {
	t.Parallel()
	_, err := pgembed.Start(context.Background(), pgembed.Options{DataDir: dataDir(t), BinDir: "/nonexistent/pg/bin"})
	require.ErrorIs(t, err, pgembed.ErrNoBinaries)
	require.NotContains(t, err.Error(), "\n")
	require.Contains(t, err.Error(), "apt-get install -y postgresql")
	require.Contains(t, err.Error(), "--database-url")
}

func TestUnreachableDataDirAsRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root switches to the postgres user")
	}
	private := t.TempDir() // 0700, owned by root
	require.NoError(t, os.Chmod(private, 0o700))
	_, err := pgembed.Start(context.Background(), pgembed.Options{DataDir: filepath.Join(private, "data")})
	require.ErrorIs(t, err, pgembed.ErrDirNotReachable)
	require.Contains(t, err.Error(), private)
}

func TestTwoClustersInParallel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dirs := []string{dataDir(t), dataDir(t)}
	clusters := make([]*pgembed.Cluster, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Go(func() { clusters[i], errs[i] = pgembed.Start(ctx, pgembed.Options{DataDir: dir}) })
	}
	wg.Wait()
	for i := range clusters {
		require.NoError(t, errs[i])
		t.Cleanup(func() { _ = clusters[i].Stop(context.Background()) })
	}
	require.NotEqual(t, clusters[0].Port(), clusters[1].Port())

	for i, c := range clusters {
		require.NoError(t, exec1(ctx, c.DSN("moose"), "CREATE TABLE who (v text)", fmt.Sprintf("INSERT INTO who VALUES ('cluster %d')", i)))
	}
	for i, c := range clusters {
		require.Equal(t, fmt.Sprintf("cluster %d", i), queryString(t, c.DSN("moose"), "SELECT string_agg(v, ',') FROM who"))
		require.Equal(t, dirs[i], queryString(t, c.DSN("postgres"), "SHOW data_directory"))
	}
}

// startHelper runs the test binary as a helper owning a cluster in dir and
// returns its process and the server's pid.
func startHelper(t *testing.T, mode, dir string) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperModeEnv+"="+mode, helperDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "helper did not report READY")
	fields := strings.Fields(line)
	require.Len(t, fields, 3, line)
	require.Equal(t, "READY", fields[0])
	pid, err := strconv.Atoi(fields[1])
	require.NoError(t, err)
	return cmd, pid
}

// gone reports whether pid has exited (zombies count as exited).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

func TestKilledOwnerTakesServerWithIt(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	helper, serverPID := startHelper(t, "hold", dir)

	require.NoError(t, helper.Process.Signal(syscall.SIGKILL))
	_ = helper.Wait()
	require.Eventually(t, func() bool { return gone(serverPID) }, 20*time.Second, 20*time.Millisecond,
		"postgres outlived its SIGKILLed parent: Pdeathsig not effective")
	require.FileExists(t, filepath.Join(dir, "postmaster.pid"), "a killed server leaves its pid file")

	c := start(t, pgembed.Options{DataDir: dir})
	require.Equal(t, "from helper", queryString(t, c.DSN("moose"), "SELECT v FROM t"))
}

func TestSharedClusterOutlivesOwnerAndIsAttached(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	helper, serverPID := startHelper(t, "shared", dir)
	require.NoError(t, helper.Wait())
	require.False(t, gone(serverPID), "shared server died with the process that started it")

	c, err := pgembed.Start(context.Background(), pgembed.Options{DataDir: dir, Shared: true})
	require.NoError(t, err)
	require.True(t, c.Reused())
	require.Equal(t, serverPID, c.PID())
	require.Equal(t, "from helper", queryString(t, c.DSN("moose"), "SELECT v FROM t"))

	require.NoError(t, c.Stop(context.Background()))
	require.True(t, gone(serverPID))
}

func TestOrphanedServerIsReplaced(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	helper, orphanPID := startHelper(t, "shared", dir)
	require.NoError(t, helper.Wait())

	// A non-shared start owns its server: an orphan on the directory is
	// killed and replaced, and the data is still there.
	c := start(t, pgembed.Options{DataDir: dir})
	require.False(t, c.Reused())
	require.NotEqual(t, orphanPID, c.PID())
	require.True(t, gone(orphanPID))
	require.Equal(t, "from helper", queryString(t, c.DSN("moose"), "SELECT v FROM t"))
}
