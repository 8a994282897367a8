package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// errPortTaken marks a start that failed because the port was taken between
// picking it and postgres binding it.
var errPortTaken = errors.New("port already in use")

// hbaConf allows only the private socket and loopback. Trust is acceptable
// because nothing else can reach the server.
const hbaConf = `# Written by moose (pgembed): only the socket in the data directory and loopback.
local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
`

// initCluster runs initdb in dataDir as the server user.
func initCluster(ctx context.Context, binDir, dataDir string, as *serverUser, fsync bool) error {
	args := []string{"-D", dataDir, "--username=" + Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C"}
	if !fsync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = "/" // the caller's cwd may not be reachable by the server user
	cmd.Env = serverEnv()
	// Pdeathsig here too: an initdb orphaned by a killed caller would keep
	// writing into a directory the next caller may be cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as.credential(), Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	exited, err := startProcess(cmd, true)
	if err != nil {
		return fmt.Errorf("run initdb: %w", err)
	}
	<-exited
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("initdb: %s: %s", cmd.ProcessState, lastLines(out.String(), 15))
	}
	hba := filepath.Join(dataDir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte(hbaConf), 0o600); err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	if as != nil {
		if err := os.Chown(hba, int(as.uid), int(as.gid)); err != nil {
			return fmt.Errorf("chown pg_hba.conf: %w", err)
		}
	}
	return nil
}

// serverEnv is the environment for initdb and postgres: ours without PG*
// variables (PGDATA, PGPORT... would only confuse) and with the C locale so
// messages are in English.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// takeOverPrevious deals with a postmaster.pid in dataDir. It returns a
// Cluster when opts.Shared and a server of this data directory is running;
// nil when the caller should launch a new server.
func takeOverPrevious(ctx context.Context, dataDir string, opts Options, logger *slog.Logger) (*Cluster, error) {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read postmaster.pid: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	if pid <= 0 || !isServerOf(pid, dataDir) {
		// The server is gone. PostgreSQL would ignore the file unless its pid
		// now belongs to another process of the same user, where it would
		// refuse to start; no server runs here, so the file can go.
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remove stale postmaster.pid: %w", err)
		}
		logger.Info("removed stale postmaster.pid", "data_dir", dataDir, "pid", pid)
		return nil, reapLeftovers(dataDir)
	}

	if opts.Shared {
		port := 0
		if len(lines) > 3 {
			port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
		}
		c := &Cluster{dataDir: dataDir, port: port, pid: pid, logger: logger, reused: true}
		err := c.waitReady(ctx, opts.StartTimeout)
		if err == nil {
			logger.Info("attached to running postgres", "data_dir", dataDir, "pid", pid, "port", port)
			return c, nil
		}
		if isServerOf(pid, dataDir) {
			return nil, fmt.Errorf("running server on %s (pid %d): %w", dataDir, pid, err)
		}
		return nil, nil // it shut down while we waited: start a fresh one
	}

	if !isOrphan(pid, dataDir) {
		return nil, fmt.Errorf("%w: %s (postgres pid %d, started by pid %d)", ErrInUse, dataDir, pid, parentOf(pid))
	}
	// Pdeathsig should have killed it; it can survive when a Shared server's
	// launcher died, or a previous moosed ran without it.
	logger.Warn("killing orphaned postgres", "data_dir", dataDir, "pid", pid)
	c := &Cluster{dataDir: dataDir, pid: pid, logger: logger}
	c.killGroup()
	select {
	case <-c.waitExit():
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("orphaned postgres pid %d on %s survived SIGKILL", pid, dataDir)
	}
	// The killed postmaster may linger as a zombie if its new parent does not
	// reap, and PostgreSQL would take the zombie's pid for a live server.
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove postmaster.pid of killed server: %w", err)
	}
	return nil, reapLeftovers(dataDir)
}

// reapLeftovers kills backends that outlived their postmaster on dataDir and
// waits for them to go: while any still holds the old shared memory segment,
// a new postmaster refuses to start. They notice the postmaster's death within
// milliseconds on their own, so this rarely finds anything.
func reapLeftovers(dataDir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := serversOf(dataDir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leftover postgres processes %v on %s survived SIGKILL", pids, dataDir)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serversOf lists live postgres processes working in dataDir.
func serversOf(dataDir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if isServerOf(pid, dataDir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// launchServer starts postgres, retrying on a port race when it picked the port.
func launchServer(ctx context.Context, binDir, dataDir string, as *serverUser, opts Options, logger *slog.Logger) (*Cluster, error) {
	for attempt := 0; ; attempt++ {
		port := opts.Port
		if port == 0 {
			p, err := freePort()
			if err != nil {
				return nil, err
			}
			port = p
		}
		c, err := launchOnce(ctx, binDir, dataDir, port, as, opts, logger)
		if err == nil {
			return c, nil
		}
		if opts.Port != 0 || attempt >= 3 || !errors.Is(err, errPortTaken) {
			return nil, err
		}
		logger.Info("port taken, retrying", "port", port)
	}
}

func launchOnce(ctx context.Context, binDir, dataDir string, port int, as *serverUser, opts Options, logger *slog.Logger) (*Cluster, error) {
	logPath := filepath.Join(dataDir, logName)
	_ = os.Rename(logPath, logPath+".1") // keep one previous log for diagnosis
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	if as != nil {
		if err := os.Chown(logPath, int(as.uid), int(as.gid)); err != nil {
			return nil, fmt.Errorf("chown server log: %w", err)
		}
	}

	cmd := exec.Command(filepath.Join(binDir, "postgres"), serverArgs(dataDir, port, opts)...)
	cmd.Dir = "/"
	cmd.Env = serverEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as.credential()}
	if opts.Shared {
		// Its own session: no terminal signals, and no tie to our lifetime.
		cmd.SysProcAttr.Setsid = true
	} else {
		cmd.SysProcAttr.Setpgid = true
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	exited, err := startProcess(cmd, !opts.Shared)
	if err != nil {
		return nil, fmt.Errorf("run postgres: %w", err)
	}
	c := &Cluster{dataDir: dataDir, port: port, pid: cmd.Process.Pid, logger: logger, exited: exited}
	if err := os.WriteFile(filepath.Join(dataDir, ownerName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		c.killGroup()
		<-exited
		return nil, fmt.Errorf("record owner: %w", err)
	}

	if err := c.waitReady(ctx, opts.StartTimeout); err != nil {
		c.killGroup()
		<-exited
		tail := logTail(dataDir)
		if strings.Contains(tail, "could not bind") || strings.Contains(tail, "already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("%w; server log %s ends with:\n%s", err, logPath, tail)
	}
	logger.Info("postgres started", "data_dir", dataDir, "port", port, "pid", c.pid)
	return c, nil
}

// serverArgs builds the postgres command line; opts.Settings win over defaults.
func serverArgs(dataDir string, port int, opts Options) []string {
	settings := map[string]string{
		"max_connections":   "200",
		"shared_buffers":    "64MB",
		"logging_collector": "off",
	}
	if !opts.Fsync {
		// Only what protects against an OS crash goes: synchronous_commit
		// stays on so a committed row survives a killed server, which costs a
		// write() but no disk flush here.
		settings["fsync"] = "off"
		settings["full_page_writes"] = "off"
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	// The socket lives in the data directory so it is private; a path too
	// long for sun_path disables it (we connect over TCP anyway).
	socketDir := dataDir
	if len(dataDir)+len("/.s.PGSQL.65535.lock") >= 107 {
		socketDir = ""
	}
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port), "-h", "127.0.0.1", "-k", socketDir}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	return args
}

// startProcess starts cmd and reaps it in the background; the returned channel
// closes when it exits. With pdeathsig, the fork happens on a locked OS thread
// that is kept until the child exits, because the kernel sends the parent-death
// signal when the forking thread (not the process) ends. The goroutine returns
// still locked, which retires the thread once the child is gone.
func startProcess(cmd *exec.Cmd, pdeathsig bool) (<-chan struct{}, error) {
	exited := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		if pdeathsig {
			runtime.LockOSThread()
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}

// waitReady polls until the server accepts connections and is the server of
// c.dataDir (another cluster could hold the port), the server exits, or the
// timeout passes.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		lastErr = c.probe(ctx)
		if lastErr == nil {
			return nil
		}
		if err := definitiveRefusal(lastErr); err != nil {
			return err
		}
		if c.exited == nil && !isServerOf(c.pid, c.dataDir) {
			return fmt.Errorf("postgres pid %d exited", c.pid)
		}
		select {
		case <-c.exited: // nil channel for attached servers: never ready
			return fmt.Errorf("postgres exited during start-up: %w", lastErr)
		case <-ctx.Done():
			return fmt.Errorf("postgres not accepting connections after %s: %w", timeout, lastErr)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

func (c *Cluster) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var dir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		return err
	}
	if !sameDir(dir, c.dataDir) {
		return fmt.Errorf("port %d is served by the cluster in %s", c.port, dir)
	}
	return nil
}

// definitiveRefusal returns an error when the server answered a probe with an
// error that waiting will not cure. A server still starting up (57P03) or
// full (53300) is worth waiting for; one that says the "postgres" database
// does not exist holds a cluster whose initdb never finished.
func definitiveRefusal(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	switch pgErr.Code {
	case "57P03", "53300":
		return nil
	case "3D000":
		return fmt.Errorf("incomplete cluster (interrupted initdb?), remove the data directory to start over: %w", err)
	}
	return err
}

// isServerOf reports whether pid is a live postgres whose working directory
// is dataDir (postgres chdirs into its data directory at start). Zombies and
// reused pids answer false.
func isServerOf(pid int, dataDir string) bool {
	if pid <= 0 {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return err == nil && sameDir(cwd, dataDir)
}

// isOrphan reports whether the server at pid lost the process that launched
// it: its parent is no longer the pid recorded at launch.
func isOrphan(pid int, dataDir string) bool {
	ppid := parentOf(pid)
	if ppid <= 1 {
		return true
	}
	b, err := os.ReadFile(filepath.Join(dataDir, ownerName))
	if err != nil {
		return false // launched by someone else (by hand?): leave it alone
	}
	owner, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return owner != ppid
}

// parentOf returns pid's parent pid, or 0 if unknown.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
