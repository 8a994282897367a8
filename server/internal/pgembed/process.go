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

// initCluster runs initdb in dataDir as the server user, with scram-sha-256
// for every connection and a generated password for the superuser, which it
// keeps in the data directory (see makePrivate).
func initCluster(ctx context.Context, binDir, dataDir string, as *serverUser, fsync bool) error {
	password, err := newPassword()
	if err != nil {
		return err
	}
	// initdb reads the password from a file the server user can read; it
	// cannot live in the data directory, which initdb wants empty.
	pwFile, err := os.CreateTemp("", "moose-initdb-pw-")
	if err != nil {
		return fmt.Errorf("write initdb password file: %w", err)
	}
	defer os.Remove(pwFile.Name())
	_, err = pwFile.WriteString(password + "\n")
	if cerr := pwFile.Close(); err == nil {
		err = cerr
	}
	if err == nil && as != nil {
		err = os.Chown(pwFile.Name(), int(as.uid), int(as.gid))
	}
	if err != nil {
		return fmt.Errorf("write initdb password file: %w", err)
	}

	args := []string{"-D", dataDir, "--username=" + Superuser, "--auth=scram-sha-256", "--pwfile=" + pwFile.Name(),
		"--encoding=UTF8", "--locale=C"}
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
	// The password file is written last: one that exists always matches the
	// role's password (makePrivate sets a new one when it is missing).
	return writePassword(dataDir, password)
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
		if err := removeStaleLocks(pidFile, lines); err != nil {
			return nil, err
		}
		logger.Info("removed stale postmaster.pid", "data_dir", dataDir, "pid", pid)
		return nil, reapLeftovers(dataDir)
	}

	if password, err := readPassword(dataDir); opts.Shared && err == nil {
		// postmaster.pid: pid, data directory, start time, port, socket directory, ...
		port, socketDir := 0, ""
		if len(lines) > 4 {
			port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
			socketDir = strings.TrimSpace(lines[4])
		}
		c := &Cluster{dataDir: dataDir, socketDir: socketDir, port: port, password: password, pid: pid, logger: logger, reused: true}
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

	// A shared server without a password file predates private clusters
	// (trust, TCP): its launcher is gone, so it is replaced like an orphan.
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
	if err := removeStaleLocks(pidFile, lines); err != nil {
		return nil, err
	}
	return nil, reapLeftovers(dataDir)
}

// removeStaleLocks removes the postmaster.pid of a server that is gone, and
// the lock file of its socket (PostgreSQL would take a zombie's or a reused
// pid in either for a live server and refuse to start).
func removeStaleLocks(pidFile string, lines []string) error {
	if len(lines) > 4 {
		if dir := strings.TrimSpace(lines[4]); dir != "" {
			port := strings.TrimSpace(lines[3])
			lock := filepath.Join(dir, ".s.PGSQL."+port+".lock")
			if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove stale socket lock: %w", err)
			}
			_ = os.Remove(filepath.Join(dir, ".s.PGSQL."+port))
		}
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale postmaster.pid: %w", err)
	}
	return nil
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

// launchServer starts postgres on its private socket and waits until it
// accepts connections.
func launchServer(ctx context.Context, binDir, dataDir, password string, as *serverUser, opts Options, logger *slog.Logger) (*Cluster, error) {
	socketDir, err := prepareSocketDir(dataDir, opts.SocketDir, as)
	if err != nil {
		return nil, err
	}
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

	cmd := exec.Command(filepath.Join(binDir, "postgres"), serverArgs(dataDir, socketDir, opts)...)
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
	c := &Cluster{dataDir: dataDir, socketDir: socketDir, port: opts.Port, password: password,
		pid: cmd.Process.Pid, logger: logger, exited: exited}
	if err := os.WriteFile(filepath.Join(dataDir, ownerName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		c.killGroup()
		<-exited
		return nil, fmt.Errorf("record owner: %w", err)
	}

	if err := c.waitReady(ctx, opts.StartTimeout); err != nil {
		c.killGroup()
		<-exited
		return nil, fmt.Errorf("%w; server log %s ends with:\n%s", err, logPath, logTail(dataDir))
	}
	logger.Info("postgres started", "data_dir", dataDir, "socket_dir", socketDir, "pid", c.pid)
	return c, nil
}

// serverArgs builds the postgres command line; opts.Settings win over
// defaults, except for what keeps the server private: no TCP listener
// (listen_addresses empty) and only the socket in socketDir, whatever
// postgresql.conf or ALTER SYSTEM say (the command line wins over both).
func serverArgs(dataDir, socketDir string, opts Options) []string {
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
	settings["password_encryption"] = "scram-sha-256"
	settings["unix_socket_permissions"] = "0700"
	args := []string{"-D", dataDir, "-p", strconv.Itoa(opts.Port), "-h", "", "-k", socketDir}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "listen_addresses", "unix_socket_directories", "port", "unix_socket_group":
			continue
		}
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
		return fmt.Errorf("socket %s is served by the cluster in %s", c.socketDir, dir)
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
