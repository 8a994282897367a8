package sandbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults applied to zero fields of Spec.
const (
	DefaultTimeout     = 10 * time.Minute
	DefaultMemoryBytes = 4 << 30
	DefaultMaxProcs    = 1024
	DefaultOutputLimit = 1 << 20
	DefaultTmpBytes    = 512 << 20
	DefaultOpenFiles   = 4096
)

// DefaultPath is the PATH given to commands unless Spec.Env sets one.
const DefaultPath = "/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Sentinel errors.
var (
	// ErrUnavailable means bwrap is missing or cannot create namespaces here.
	ErrUnavailable = errors.New("sandbox unavailable")
	// ErrInvalidSpec means the Spec cannot be run as given.
	ErrInvalidSpec = errors.New("invalid sandbox spec")
)

// Spec describes one command to run.
type Spec struct {
	// Dir is the worktree: bound read-write at MountAt (default: the same
	// path) and the working directory.
	Dir string
	// MountAt, when set, is the absolute path Dir appears at inside the
	// sandbox; extra binds inside Dir move with it. A fixed one gives every
	// workspace the same path, so caches that key their entries by the
	// source's path (Go's build and test caches) serve all of them. Ignored
	// when Unsandboxed: the command then sees Dir.
	MountAt string
	// Args is the command and its arguments; Args[0] is looked up in the sandbox's PATH.
	Args []string
	// Env is added to the allowlisted environment (PATH, HOME, TMPDIR, LANG) and may
	// override it. Nothing else of the caller's environment is passed on.
	Env map[string]string
	// ReadOnly and ReadWrite are extra host paths bound at the same path, e.g. a Go module
	// cache (read-only) or a build cache (read-write).
	ReadOnly, ReadWrite []string
	// Timeout is the wall-time limit (default DefaultTimeout).
	Timeout time.Duration
	// MemoryBytes limits memory (default DefaultMemoryBytes; negative means no limit).
	MemoryBytes int64
	// CPUTime limits CPU seconds per process (RLIMIT_CPU); zero means no limit.
	CPUTime time.Duration
	// TmpDir is a host directory bound at /tmp (a sized tmpfs the caller made,
	// whose usage it can measure afterwards). Empty: a private tmpfs of TmpBytes.
	TmpDir string
	// TmpBytes bounds the private /tmp when TmpDir is empty (default DefaultTmpBytes).
	TmpBytes int64
	// FileSizeBytes limits the size of any one file a process writes
	// (RLIMIT_FSIZE); zero means no limit.
	FileSizeBytes int64
	// OpenFiles limits open file descriptors per process (RLIMIT_NOFILE,
	// default DefaultOpenFiles).
	OpenFiles int
	// MaxProcs limits tasks (processes and threads) when a cgroup is available
	// (default DefaultMaxProcs).
	MaxProcs int
	// OutputLimit is how many bytes of each stream are kept (default DefaultOutputLimit).
	OutputLimit int
	// CombineOutput sends stderr to the same capture as stdout, keeping the interleaving;
	// Result.Stderr is then empty.
	CombineOutput bool
	// Unsandboxed runs without bwrap. Only for operators who opted out explicitly; the
	// environment is still cleared and limits still apply.
	Unsandboxed bool
}

// Result is what a finished command left behind.
type Result struct {
	// ExitCode is the command's exit status; -1 when it was killed by a signal. Inside
	// bwrap a command killed by signal N shows as 128+N, as in a shell.
	ExitCode int
	// Stdout and Stderr are the kept output (see Spec.OutputLimit).
	Stdout, Stderr string
	// StdoutDropped and StderrDropped count bytes dropped from the middle of each stream.
	StdoutDropped, StderrDropped int64
	// TimedOut is set when Spec.Timeout killed the command; Canceled when ctx did.
	TimedOut, Canceled bool
	// OOM is set when the command ran out of memory under the limit.
	OOM bool
	// Duration is the wall time from start to exit.
	Duration time.Duration
	// MemoryLimit names how memory was limited: LimitCgroupV2, LimitCgroupV1,
	// LimitRlimitData or LimitNone.
	MemoryLimit string
	// Sandboxed is false when the command ran through RunUnsandboxed.
	Sandboxed bool
	// CPUTime is the user and system time the command and its descendants used.
	CPUTime time.Duration
	// CPULimited is set when a process was stopped by Spec.CPUTime.
	CPULimited bool
	// FileSizeLimited is set when a process tried to write a file larger
	// than Spec.FileSizeBytes.
	FileSizeLimited bool
}

// Success reports whether the command exited 0 on its own.
func (r Result) Success() bool {
	return r.ExitCode == 0 && !r.TimedOut && !r.Canceled && !r.OOM && !r.CPULimited && !r.FileSizeLimited
}

// Output returns stdout followed by stderr.
func (r Result) Output() string {
	if r.Stderr == "" {
		return r.Stdout
	}
	if r.Stdout == "" || strings.HasSuffix(r.Stdout, "\n") {
		return r.Stdout + r.Stderr
	}
	return r.Stdout + "\n" + r.Stderr
}

// available caches a successful probe: every validation asks, and each probe
// is one more bwrap start (a few milliseconds, and one more moment in which a
// dying validator could leave a half-started sandbox behind).
var available struct {
	sync.Mutex
	ok bool
}

// Available reports whether a working sandbox exists, by running `true` in
// one. A success is remembered for the life of the process; a failure is
// probed again next time.
func Available(ctx context.Context) error {
	available.Lock()
	defer available.Unlock()
	if available.ok {
		return nil
	}
	if err := probe(ctx); err != nil {
		return err
	}
	available.ok = true
	return nil
}

func probe(ctx context.Context) error {
	if _, err := exec.LookPath("bwrap"); err != nil {
		return fmt.Errorf("%w: bwrap not found: %w", ErrUnavailable, err)
	}
	dir, err := os.MkdirTemp("", "moose-sandbox-probe-")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer os.RemoveAll(dir)
	res, err := Run(ctx, Spec{Dir: dir, Args: []string{"true"}, Timeout: 30 * time.Second, OutputLimit: 4096})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !res.Success() {
		return fmt.Errorf("%w: probe exited %d: %s", ErrUnavailable, res.ExitCode, strings.TrimSpace(res.Output()))
	}
	return nil
}

// RunUnsandboxed runs s without isolation. Use it only when the operator has opted out of
// sandboxing; it is Run with Spec.Unsandboxed set.
func RunUnsandboxed(ctx context.Context, s Spec) (Result, error) {
	s.Unsandboxed = true
	return Run(ctx, s)
}

// Run runs the command described by s and waits for it. An error means the command could
// not be run at all; a command that ran and failed is reported in Result.
func Run(ctx context.Context, s Spec) (Result, error) {
	return run(ctx, s, false)
}

// run is Run; noCgroup skips cgroups so tests can exercise the rlimit fallback.
func run(ctx context.Context, s Spec, noCgroup bool) (Result, error) {
	if err := s.normalize(); err != nil {
		return Result{}, err
	}

	var home string
	if s.Unsandboxed {
		// A private HOME and TMPDIR keep tools from reading the operator's dotfiles.
		var err error
		home, err = os.MkdirTemp("", "moose-unsandboxed-")
		if err != nil {
			return Result{}, fmt.Errorf("create private home: %w", err)
		}
		defer os.RemoveAll(home)
		if err := os.Mkdir(filepath.Join(home, "tmp"), 0o700); err != nil {
			return Result{}, fmt.Errorf("create private tmp: %w", err)
		}
	}
	env := s.environment(home)

	memLimit := LimitNone
	var cg *cgroup
	if s.MemoryBytes > 0 && !noCgroup {
		if c, err := newCgroup(s.MemoryBytes, s.MaxProcs); err == nil {
			cg = c
			memLimit = c.name()
			defer cg.remove()
		}
	}

	var argv []string
	if s.Unsandboxed {
		path, err := lookPathIn(s.Args[0], env["PATH"])
		if err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
		}
		argv = append([]string{path}, s.Args[1:]...)
	} else {
		bwrap, err := exec.LookPath("bwrap")
		if err != nil {
			return Result{}, fmt.Errorf("%w: bwrap not found: %w", ErrUnavailable, err)
		}
		argv = append([]string{bwrap}, bwrapArgs(s, env)...)
	}

	// Rlimits are set by prlimit(1) between us and the command, because os/exec cannot set
	// them on a child, and setting them on ourselves would limit the validator too.
	var rl []string
	if s.MemoryBytes > 0 && cg == nil {
		rl = append(rl, fmt.Sprintf("--data=%d:%d", s.MemoryBytes, s.MemoryBytes))
		memLimit = LimitRlimitData
	}
	if s.CPUTime > 0 {
		// The soft limit sends SIGXCPU, which most runtimes report by name; the
		// hard limit a moment later kills whatever ignored it.
		secs := int64(s.CPUTime.Round(time.Second) / time.Second)
		secs = max(secs, 1)
		rl = append(rl, fmt.Sprintf("--cpu=%d:%d", secs, secs+2))
	}
	if s.FileSizeBytes > 0 {
		rl = append(rl, fmt.Sprintf("--fsize=%d:%d", s.FileSizeBytes, s.FileSizeBytes))
	}
	if s.OpenFiles > 0 {
		rl = append(rl, fmt.Sprintf("--nofile=%d:%d", s.OpenFiles, s.OpenFiles))
	}
	if len(rl) > 0 {
		rl = append(rl, "--core=0:0")
		prlimit, err := exec.LookPath("prlimit")
		if err != nil {
			return Result{}, fmt.Errorf("%w: prlimit not found for resource limits: %w", ErrUnavailable, err)
		}
		argv = append(append([]string{prlimit}, rl...), append([]string{"--"}, argv...)...)
	}
	if cg != nil {
		// The shell joins the group before exec'ing the command, so nothing runs outside it.
		script := `while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"`
		pre := append([]string{"/bin/sh", "-c", script, "sh"}, cg.procsFiles()...)
		argv = append(append(pre, "--"), argv...)
	}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.Dir
	if s.Unsandboxed {
		cmd.Env = envList(env)
	} else {
		// bwrap itself gets only a PATH and the markers that let a restarted
		// host find it (see markerEnv); the command's environment is set by
		// --setenv after --clearenv.
		cmd.Env = markerEnv()
	}
	stdout := newCapture(s.OutputLimit)
	cmd.Stdout = stdout
	var stderr *capture
	if s.CombineOutput {
		cmd.Stderr = stdout
	} else {
		stderr = newCapture(s.OutputLimit)
		cmd.Stderr = stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Output pipes held open by a stray grandchild must not block Wait forever.
	cmd.WaitDelay = 2 * time.Second

	// Pdeathsig fires when the creating OS thread exits, not the process: keep this
	// goroutine on its thread until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", s.Args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	timer := time.NewTimer(s.Timeout)
	defer timer.Stop()
	res := Result{MemoryLimit: memLimit, Sandboxed: !s.Unsandboxed}
	var waitErr error
	kill := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if cg != nil {
			cg.killAll()
		}
	}
	select {
	case waitErr = <-done:
	case <-timer.C:
		res.TimedOut = true
		kill()
		waitErr = <-done
	case <-ctx.Done():
		res.Canceled = true
		kill()
		waitErr = <-done
	}
	res.Duration = time.Since(start)
	if cg != nil {
		// Reap anything that outlived the command (none should: it was PID 1 of its namespace).
		cg.killAll()
	}

	res.ExitCode = exitCode(cmd, waitErr)
	res.Stdout, res.StdoutDropped = stdout.result()
	if stderr != nil {
		res.Stderr, res.StderrDropped = stderr.result()
	}
	if ps := cmd.ProcessState; ps != nil {
		// wait4's usage covers every descendant that was reaped, which inside the
		// sandbox's PID namespace is all of them.
		res.CPUTime = ps.UserTime() + ps.SystemTime()
	}
	if cg != nil {
		res.CPUTime = max(res.CPUTime, cg.cpuUsage())
	}
	res.CPULimited, res.FileSizeLimited = limitSignals(s, res, cg != nil && cg.cpuFile != "")
	switch {
	case cg != nil:
		res.OOM = cg.oomKilled()
	case memLimit == LimitRlimitData && res.ExitCode != 0:
		res.OOM = looksOutOfMemory(res.Stdout + res.Stderr)
	}
	return res, nil
}

func exitCode(cmd *exec.Cmd, waitErr error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1
	}
	code := cmd.ProcessState.ExitCode()
	if code == 0 && waitErr != nil && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return -1
	}
	return code
}

// limitSignals tells whether the CPU-time or file-size limit stopped a
// process: by the signal's name in the output (shells, Go, node and Python
// print it), by the exit status of a command the signal killed (128+N inside
// bwrap), or, for CPU time, by the usage having reached the limit.
//
// Without a cgroup the usage of processes the sandbox's init reaped is not
// seen, so a process killed outright (the hard limit) counts too: nothing
// else in a sandbox without a memory cgroup sends SIGKILL.
func limitSignals(s Spec, res Result, accounted bool) (cpu, fsize bool) {
	out := res.Stdout + res.Stderr
	if s.CPUTime > 0 && !res.TimedOut && !res.Canceled {
		cpu = res.ExitCode == 128+int(syscall.SIGXCPU) ||
			strings.Contains(out, "CPU time limit exceeded") || strings.Contains(out, "SIGXCPU") ||
			(res.ExitCode != 0 && res.CPUTime >= s.CPUTime) ||
			(!accounted && (res.ExitCode == 128+int(syscall.SIGKILL) || strings.Contains(out, "signal: killed")))
	}
	if s.FileSizeBytes > 0 {
		fsize = res.ExitCode == 128+int(syscall.SIGXFSZ) ||
			strings.Contains(out, "File size limit exceeded") || strings.Contains(out, "SIGXFSZ") ||
			strings.Contains(out, "file too large")
	}
	return cpu, fsize
}

// looksOutOfMemory recognises allocation failures of the runtimes we run.
func looksOutOfMemory(out string) bool {
	for _, m := range []string{
		"runtime: out of memory", "cannot allocate", "Cannot allocate memory",
		"JavaScript heap out of memory", "std::bad_alloc", "MemoryError", "memory exhausted",
		"xmalloc: cannot allocate",
	} {
		if strings.Contains(out, m) {
			return true
		}
	}
	return false
}

func (s *Spec) normalize() error {
	if len(s.Args) == 0 || s.Args[0] == "" {
		return fmt.Errorf("%w: no command", ErrInvalidSpec)
	}
	if s.Dir == "" {
		return fmt.Errorf("%w: no working directory", ErrInvalidSpec)
	}
	dir, err := filepath.Abs(s.Dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: working directory %s is not a directory", ErrInvalidSpec, dir)
	}
	s.Dir = dir
	if s.MountAt != "" {
		m := filepath.Clean(s.MountAt)
		if !filepath.IsAbs(m) || m == "/" || slices.ContainsFunc(systemPaths, func(p string) bool { return within(m, p) || within(p, m) }) {
			return fmt.Errorf("%w: MountAt %q must be an absolute path outside the sandbox's system directories", ErrInvalidSpec, s.MountAt)
		}
		s.MountAt = m
	}
	// Copies, so the caller's slices are not rewritten.
	s.ReadOnly, s.ReadWrite = slices.Clone(s.ReadOnly), slices.Clone(s.ReadWrite)
	for _, list := range [][]string{s.ReadOnly, s.ReadWrite} {
		for i, p := range list {
			abs, err := filepath.Abs(p)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
			}
			if _, err := os.Stat(abs); err != nil {
				return fmt.Errorf("%w: bind %s: %w", ErrInvalidSpec, abs, err)
			}
			list[i] = abs
		}
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MemoryBytes == 0 {
		s.MemoryBytes = DefaultMemoryBytes
	}
	if s.MaxProcs <= 0 {
		s.MaxProcs = DefaultMaxProcs
	}
	if s.OutputLimit <= 0 {
		s.OutputLimit = DefaultOutputLimit
	}
	if s.TmpBytes <= 0 {
		s.TmpBytes = DefaultTmpBytes
	}
	if s.OpenFiles <= 0 {
		s.OpenFiles = DefaultOpenFiles
	}
	if s.TmpDir != "" {
		abs, err := filepath.Abs(s.TmpDir)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return fmt.Errorf("%w: temporary directory %s is not a directory", ErrInvalidSpec, abs)
		}
		s.TmpDir = abs
	}
	return nil
}

// environment is the allowlist plus Spec.Env. home is the private HOME of an unsandboxed run.
func (s *Spec) environment(home string) map[string]string {
	env := map[string]string{
		"PATH":   DefaultPath,
		"HOME":   "/tmp/home",
		"TMPDIR": "/tmp",
		"LANG":   "C.UTF-8",
	}
	if home != "" {
		env["HOME"] = home
		env["TMPDIR"] = filepath.Join(home, "tmp")
	}
	maps.Copy(env, s.Env)
	return env
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// lookPathIn resolves name in the given PATH rather than the caller's.
func lookPathIn(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH %s", name, path)
}

// etcFiles are the few host /etc entries programs commonly need; secrets
// (shadow, ssh, the operator's configuration) are left out.
var etcFiles = []string{
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/localtime",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
	"/etc/ssl", "/etc/ca-certificates", "/etc/os-release", "/etc/mime.types",
}

// systemPaths are the directories the sandbox's root is made of.
var systemPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc", "/dev", "/tmp", "/sys"}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// inside is where host path p appears in the sandbox: paths in the worktree
// move with it (MountAt), others stay where they are.
func (s Spec) inside(p string) string {
	if s.MountAt == "" || !within(p, s.Dir) {
		return p
	}
	return s.MountAt + strings.TrimPrefix(p, s.Dir)
}

func bwrapArgs(s Spec, env map[string]string) []string {
	a := []string{
		"--die-with-parent", "--new-session",
		"--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--hostname", "sandbox",
		"--cap-drop", "ALL",
		"--clearenv",
		"--ro-bind", "/usr", "/usr",
	}
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if target, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", target, d)
			}
		case fi.IsDir():
			a = append(a, "--ro-bind", d, d)
		}
	}
	for _, f := range etcFiles {
		a = append(a, "--ro-bind-try", f, f)
	}
	a = append(a,
		"--proc", "/proc", "--dev", "/dev",
	)
	if s.TmpDir != "" {
		a = append(a, "--bind", s.TmpDir, "/tmp")
	} else {
		a = append(a, "--size", strconv.FormatInt(s.TmpBytes, 10), "--tmpfs", "/tmp")
	}
	a = append(a, "--dir", "/tmp/home",
		// The worktree first, so extra binds nested inside it (a shared node_modules) win.
		"--bind", s.Dir, s.inside(s.Dir),
	)
	for _, p := range s.ReadOnly {
		a = append(a, "--ro-bind", p, s.inside(p))
	}
	for _, p := range s.ReadWrite {
		a = append(a, "--bind", p, s.inside(p))
	}
	a = append(a, "--chdir", s.inside(s.Dir))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		a = append(a, "--setenv", k, env[k])
	}
	a = append(a, "--")
	// A backstop for the wall-time limit that lives inside the sandbox: should
	// the validator die in the moment before bwrap's namespace init has armed
	// --die-with-parent (bwrap sets it only after building the new root), the
	// command still cannot outlive Timeout by more than orphanGrace. Run's own
	// timer fires first in every other case.
	if timeout, err := lookPathIn("timeout", DefaultPath); err == nil {
		secs := int64((s.Timeout + orphanGrace + time.Second - 1) / time.Second)
		a = append(a, timeout, "--signal=KILL", strconv.FormatInt(secs, 10))
	}
	return append(a, s.Args...)
}

// orphanGrace is how long past Spec.Timeout the in-sandbox backstop waits.
const orphanGrace = 10 * time.Second

// String renders a spec for logs, leaving out environment values.
func (s Spec) String() string {
	return fmt.Sprintf("sandbox{dir=%s args=%q timeout=%s mem=%d}", s.Dir, s.Args, s.Timeout, s.MemoryBytes)
}
