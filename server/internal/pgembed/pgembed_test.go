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
	require.Equal(t, dir, c.SocketDir(), "the socket lives in the private data directory")
	require.NotContains(t, c.DSN("moose"), "127.0.0.1")
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
	require.NotEqual(t, clusters[0].SocketDir(), clusters[1].SocketDir())

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

// asNobody runs a command as the unprivileged user nobody and returns its
// combined output and error. Only root can switch users.
func asNobody(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=5", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tcpListeners returns the TCP sockets pid listens on (from /proc/net/tcp*).
func tcpListeners(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var found []string
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && inodes[f[9]] { // 0A: LISTEN
				found = append(found, table+" "+f[1])
			}
		}
	}
	return found
}

func TestClusterIsPrivate(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)
	c := start(t, pgembed.Options{DataDir: dir})

	require.Empty(t, tcpListeners(t, c.PID()), "the server listens on TCP")
	require.Equal(t, "", queryString(t, c.DSN("moose"), "SHOW listen_addresses"))
	require.Equal(t, "scram-sha-256", queryString(t, c.DSN("moose"), "SHOW password_encryption"))
	hba, err := os.ReadFile(filepath.Join(dir, "pg_hba.conf"))
	require.NoError(t, err)
	require.NotContains(t, string(hba), "trust")
	require.NotRegexp(t, `(?m)^\s*host`, string(hba))
	fi, err := os.Stat(filepath.Join(dir, pgembed.PasswordFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fi, err = os.Stat(c.SocketDir())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "socket directory")

	// Even moosed's own user gets nowhere without the password.
	_, err = pgx.Connect(context.Background(), strings.Replace(c.DSN("moose"), "moose:", "moose:wrong", 1))
	require.ErrorContains(t, err, "password authentication failed")

	if os.Geteuid() != 0 {
		t.Skip("the rest runs psql as nobody, which needs root")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("no psql client")
	}
	marker := filepath.Join(t.TempDir(), "pwned")
	require.NoError(t, os.Chmod(filepath.Dir(marker), 0o777))
	copyToProgram := "COPY (SELECT 1) TO PROGRAM 'touch " + marker + "'"
	for _, target := range [][]string{
		{"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port())},
		{"-h", "localhost", "-p", strconv.Itoa(c.Port())},
		{"-h", c.SocketDir(), "-p", strconv.Itoa(c.Port())},
	} {
		args := append(append([]string{"-w", "-X"}, target...), "-U", pgembed.Superuser, "-d", "postgres", "-c", copyToProgram)
		out, err := asNobody(t, psql, args...)
		require.Error(t, err, "nobody connected with %v: %s", target, out)
		t.Logf("nobody, %v: %s", target, strings.TrimSpace(out))
	}
	// The socket itself is out of reach, not merely password protected.
	out, _ := asNobody(t, psql, "-w", "-X", "-h", c.SocketDir(), "-p", strconv.Itoa(c.Port()), "-U", pgembed.Superuser, "-d", "postgres")
	require.Contains(t, out, "Permission denied")
	require.NoFileExists(t, marker, "COPY TO PROGRAM ran for nobody")
}

func TestClusterOfEarlierVersionIsMadePrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := dataDir(t)
	c := start(t, pgembed.Options{DataDir: dir})
	require.NoError(t, exec1(ctx, c.DSN("moose"), "CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('survives')"))
	oldDSN := c.DSN("moose")
	require.NoError(t, c.Stop(ctx))

	// Turn it into what earlier versions left: trust for everyone, loopback
	// TCP, no password file, listening settings in postgresql.auto.conf.
	hba := filepath.Join(dir, "pg_hba.conf")
	st, err := os.Stat(hba)
	require.NoError(t, err)
	uid, gid := int(st.Sys().(*syscall.Stat_t).Uid), int(st.Sys().(*syscall.Stat_t).Gid)
	require.NoError(t, os.WriteFile(hba, []byte("local all all trust\nhost all all 127.0.0.1/32 trust\n"), 0o600))
	auto := filepath.Join(dir, "postgresql.auto.conf")
	b, err := os.ReadFile(auto)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(auto, append(b, "listen_addresses = '*'\nwork_mem = '8MB'\n"...), 0o600))
	for _, p := range []string{hba, auto} {
		require.NoError(t, os.Chown(p, uid, gid))
	}
	require.NoError(t, os.Remove(filepath.Join(dir, pgembed.PasswordFile)))

	c2 := start(t, pgembed.Options{DataDir: dir})
	require.Equal(t, "survives", queryString(t, c2.DSN("moose"), "SELECT v FROM kept"), "the data was kept")
	require.NotEqual(t, oldDSN, c2.DSN("moose"), "a new password was set")
	_, err = pgx.Connect(ctx, oldDSN)
	require.ErrorContains(t, err, "password authentication failed", "the old password still works")
	require.Empty(t, tcpListeners(t, c2.PID()))
	b, err = os.ReadFile(hba)
	require.NoError(t, err)
	require.NotContains(t, string(b), "trust")
	b, err = os.ReadFile(auto)
	require.NoError(t, err)
	require.NotContains(t, string(b), "listen_addresses")
	require.Contains(t, string(b), "work_mem", "other ALTER SYSTEM settings are kept")
	fi, err := os.Stat(filepath.Join(dir, pgembed.PasswordFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestLongDataDirGetsPrivateSocketDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(dataDir(t), strings.Repeat("d", 60), "data")
	c := start(t, pgembed.Options{DataDir: dir})
	require.NotEqual(t, dir, c.SocketDir())
	fi, err := os.Stat(c.SocketDir())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	require.Equal(t, "1", queryString(t, c.DSN("moose"), "SELECT '1'"))
}
