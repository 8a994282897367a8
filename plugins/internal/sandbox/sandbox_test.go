package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/sandbox"
)

const secretValue = "hunter2-do-not-leak"

func TestMain(m *testing.M) {
	// A credential in the validator's environment that sandboxed code must never see.
	os.Setenv("MOOSE_TEST_SECRET", secretValue)
	// The markers moosed gives a plugin process, which bwrap must carry on.
	os.Setenv("MOOSE_PLUGIN_HOST", hostMarker)
	os.Setenv("MOOSE_PLUGIN_HOST_OWNER", "1-1")
	os.Exit(m.Run())
}

// requireSandbox skips only where bwrap is not installed at all; an installed but broken
// bwrap fails the test.
func requireSandbox(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap not installed")
	}
	require.NoError(t, sandbox.Available(context.Background()))
}

func run(t *testing.T, s sandbox.Spec) sandbox.Result {
	t.Helper()
	if s.Dir == "" {
		s.Dir = t.TempDir()
	}
	res, err := sandbox.Run(context.Background(), s)
	require.NoError(t, err)
	return res
}

func TestEnvironmentIsCleared(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	require.Equal(t, secretValue, os.Getenv("MOOSE_TEST_SECRET"))
	for _, unsandboxed := range []bool{false, true} {
		t.Run(fmt.Sprintf("unsandboxed=%v", unsandboxed), func(t *testing.T) {
			t.Parallel()
			res := run(t, sandbox.Spec{
				Args:        []string{"sh", "-c", `echo "secret=[$MOOSE_TEST_SECRET]"; echo "given=[$GIVEN]"; env`},
				Env:         map[string]string{"GIVEN": "yes"},
				Unsandboxed: unsandboxed,
			})
			require.True(t, res.Success(), res.Output())
			require.Contains(t, res.Stdout, "secret=[]")
			require.Contains(t, res.Stdout, "given=[yes]")
			require.NotContains(t, res.Stdout, secretValue)
			require.Equal(t, !unsandboxed, res.Sandboxed)
		})
	}
}

func TestNoNetwork(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash (for /dev/tcp) not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	connect := []string{"bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && echo connected", port)}

	// Control: the same command reaches the listener when not sandboxed.
	res := run(t, sandbox.Spec{Args: connect, Unsandboxed: true, Timeout: 30 * time.Second})
	require.True(t, res.Success(), res.Output())
	require.Contains(t, res.Stdout, "connected")
	<-accepted

	res = run(t, sandbox.Spec{Args: connect, Timeout: 30 * time.Second})
	require.False(t, res.Success(), res.Output())
	require.NotContains(t, res.Stdout, "connected")
	require.Empty(t, accepted)
}

func TestWritesStayInWorktree(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	worktree := t.TempDir()
	outside := t.TempDir()
	readOnly := t.TempDir()

	res := run(t, sandbox.Spec{
		Dir:      worktree,
		ReadOnly: []string{readOnly},
		Args: []string{"sh", "-c", fmt.Sprintf(
			`echo in > inside.txt; echo out > %s/escaped.txt; echo ro > %s/escaped.txt; echo usr > /usr/escaped.txt; cat inside.txt`,
			outside, readOnly)},
	})
	require.Contains(t, res.Stdout, "in")
	require.FileExists(t, filepath.Join(worktree, "inside.txt"))
	require.NoFileExists(t, filepath.Join(outside, "escaped.txt"))
	require.NoFileExists(t, filepath.Join(readOnly, "escaped.txt"))
	require.NoFileExists(t, "/usr/escaped.txt")
	require.Contains(t, res.Stderr, "Read-only file system")
}

func TestPrivateTmp(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	marker := filepath.Join(os.TempDir(), fmt.Sprintf("moose-sandbox-marker-%d", time.Now().UnixNano()))
	require.NoError(t, os.WriteFile(marker, []byte("host"), 0o600))
	t.Cleanup(func() { os.Remove(marker) })
	res := run(t, sandbox.Spec{Args: []string{"cat", marker}})
	require.False(t, res.Success())
	require.NotContains(t, res.Stdout, "host")
}

func TestTimeoutKillsTree(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	for _, unsandboxed := range []bool{false, true} {
		t.Run(fmt.Sprintf("unsandboxed=%v", unsandboxed), func(t *testing.T) {
			t.Parallel()
			// A distinctive duration lets us look for survivors in /proc afterwards.
			tag := fmt.Sprintf("60.%d", time.Now().UnixNano()%1000000)
			if unsandboxed {
				tag += "1"
			}
			res := run(t, sandbox.Spec{
				Args:        []string{"sh", "-c", fmt.Sprintf("sleep %s & sleep %s & wait", tag, tag)},
				Timeout:     time.Second,
				Unsandboxed: unsandboxed,
			})
			require.True(t, res.TimedOut)
			require.False(t, res.Success())
			require.Equal(t, -1, res.ExitCode)
			require.Less(t, res.Duration, 30*time.Second)
			require.Empty(t, survivors(t, tag))
		})
	}
}

func TestContextCancelKillsPromptly(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	tag := fmt.Sprintf("61.%d", time.Now().UnixNano()%1000000)
	type out struct {
		res sandbox.Result
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := sandbox.Run(ctx, sandbox.Spec{
			Dir:  dir,
			Args: []string{"sh", "-c", fmt.Sprintf("touch started; sleep %s", tag)},
		})
		ch <- out{res, err}
	}()
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil
	}, 30*time.Second, 10*time.Millisecond)
	cancel()
	canceledAt := time.Now()
	got := <-ch
	require.NoError(t, got.err)
	require.Less(t, time.Since(canceledAt), 5*time.Second)
	require.True(t, got.res.Canceled)
	require.False(t, got.res.TimedOut)
	require.Empty(t, survivors(t, tag))
}

// survivors lists processes whose command line contains tag.
func survivors(t *testing.T, tag string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), tag) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if strings.Contains(string(stat), ") Z ") {
			continue // exited, waiting for its reaper
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

func TestOutputFloodIsCapped(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	const total = 50_000_000
	const limit = 1 << 20
	res := run(t, sandbox.Spec{
		Args:        []string{"sh", "-c", fmt.Sprintf("yes | head -c %d", total)},
		OutputLimit: limit,
	})
	require.True(t, res.Success(), res.Stderr)
	require.Less(t, len(res.Stdout), limit+200)
	require.Equal(t, int64(total-limit), res.StdoutDropped)
	require.True(t, strings.HasPrefix(res.Stdout, "y\ny\n"))
	require.True(t, strings.HasSuffix(res.Stdout, "y\ny\n"))
	require.Contains(t, res.Stdout, fmt.Sprintf("[sandbox: %d bytes of output dropped]", total-limit))
}

func TestCombinedOutputKeepsOrder(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	res := run(t, sandbox.Spec{
		Args:          []string{"sh", "-c", "echo one; echo two >&2; echo three"},
		CombineOutput: true,
	})
	require.True(t, res.Success())
	require.Equal(t, "one\ntwo\nthree\n", res.Stdout)
	require.Empty(t, res.Stderr)
}

// hog allocates about 200 MB in a shell variable.
var hog = []string{"bash", "-c", `x=$(head -c 200000000 /dev/zero | tr '\0' a); echo ${#x}`}

func TestMemoryLimitKillsHog(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	for _, tc := range []struct {
		name string
		run  func(context.Context, sandbox.Spec) (sandbox.Result, error)
	}{
		{"preferred", sandbox.Run},
		{"rlimit fallback", sandbox.RunWithoutCgroup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Control: with room to spare the hog finishes.
			res, err := tc.run(context.Background(), sandbox.Spec{Dir: t.TempDir(), Args: hog, MemoryBytes: 2 << 30})
			require.NoError(t, err)
			require.True(t, res.Success(), res.Output())
			require.Contains(t, res.Stdout, "200000000")

			res, err = tc.run(context.Background(), sandbox.Spec{Dir: t.TempDir(), Args: hog, MemoryBytes: 64 << 20})
			require.NoError(t, err)
			t.Logf("memory limited by %s; exit %d; stderr %q", res.MemoryLimit, res.ExitCode, res.Stderr)
			require.NotEqual(t, sandbox.LimitNone, res.MemoryLimit)
			require.False(t, res.Success())
			require.NotContains(t, res.Stdout, "200000000")
			require.True(t, res.OOM)
		})
	}
}

func TestGoRuntimeWorksUnderRlimitData(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not installed")
	}
	// RLIMIT_AS would break this; RLIMIT_DATA must not.
	res, err := sandbox.RunWithoutCgroup(context.Background(), sandbox.Spec{
		Dir:         t.TempDir(),
		Args:        []string{goBin, "env", "GOROOT"},
		MemoryBytes: 256 << 20,
		Env:         map[string]string{"GOTOOLCHAIN": "local"},
	})
	require.NoError(t, err)
	require.Equal(t, sandbox.LimitRlimitData, res.MemoryLimit)
	require.True(t, res.Success(), res.Output())
	require.NotEmpty(t, strings.TrimSpace(res.Stdout))
}

func TestCPUTimeLimit(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	res := run(t, sandbox.Spec{
		Args:    []string{"sh", "-c", "while :; do :; done"},
		CPUTime: time.Second,
		Timeout: 2 * time.Minute,
	})
	require.False(t, res.Success())
	require.False(t, res.TimedOut)
	require.NotZero(t, res.ExitCode)
	require.True(t, res.CPULimited, "exit %d, cpu %s: %s", res.ExitCode, res.CPUTime, res.Output())
	require.GreaterOrEqual(t, res.CPUTime, 500*time.Millisecond)
}

func TestCPUTimeLimitStopsASpinningGoProgram(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {\n\tfor {\n\t}\n}\n"), 0o644))
	bin := filepath.Join(dir, "spin")
	out, err := exec.Command("go", "build", "-o", bin, filepath.Join(dir, "main.go")).CombinedOutput()
	require.NoError(t, err, string(out))
	start := time.Now()
	res := run(t, sandbox.Spec{Dir: dir, Args: []string{bin}, CPUTime: 2 * time.Second, Timeout: 2 * time.Minute})
	require.Less(t, time.Since(start), time.Minute)
	require.True(t, res.CPULimited, "exit %d, cpu %s: %s", res.ExitCode, res.CPUTime, res.Output())
	require.False(t, res.Success())
}

func TestTmpIsBounded(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	res := run(t, sandbox.Spec{
		Args:     []string{"sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=16 2>&1; echo rc=$?"},
		TmpBytes: 4 << 20,
	})
	require.Contains(t, res.Output(), "No space left on device")
	require.Contains(t, res.Output(), "rc=1")

	// A host directory the caller sized itself is bound at /tmp instead.
	tmp := t.TempDir()
	res = run(t, sandbox.Spec{Args: []string{"sh", "-c", "echo hi > /tmp/mark && ls /tmp"}, TmpDir: tmp})
	require.True(t, res.Success(), res.Output())
	b, err := os.ReadFile(filepath.Join(tmp, "mark"))
	require.NoError(t, err)
	require.Equal(t, "hi\n", string(b))
}

func TestFileSizeAndOpenFileLimits(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	res := run(t, sandbox.Spec{
		Args:          []string{"sh", "-c", "dd if=/dev/zero of=big bs=1M count=8"},
		FileSizeBytes: 1 << 20,
	})
	require.False(t, res.Success())
	require.True(t, res.FileSizeLimited, "exit %d: %s", res.ExitCode, res.Output())

	res = run(t, sandbox.Spec{Args: []string{"sh", "-c", "ulimit -n"}, OpenFiles: 123})
	require.True(t, res.Success(), res.Output())
	require.Equal(t, "123", strings.TrimSpace(res.Stdout))
}

func TestInvalidSpec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, s := range map[string]sandbox.Spec{
		"no args":         {Dir: dir},
		"no dir":          {Args: []string{"true"}},
		"missing dir":     {Dir: filepath.Join(dir, "nope"), Args: []string{"true"}},
		"missing bind":    {Dir: dir, Args: []string{"true"}, ReadOnly: []string{filepath.Join(dir, "nope")}},
		"unknown binary":  {Dir: dir, Args: []string{"no-such-binary-moose"}, Unsandboxed: true},
		"relative mount":  {Dir: dir, Args: []string{"true"}, MountAt: "tree"},
		"mount at root":   {Dir: dir, Args: []string{"true"}, MountAt: "/"},
		"mount over usr":  {Dir: dir, Args: []string{"true"}, MountAt: "/usr/local/tree"},
		"mount over tmp":  {Dir: dir, Args: []string{"true"}, MountAt: "/tmp"},
		"mount above etc": {Dir: dir, Args: []string{"true"}, MountAt: "/et/../etc"},
	} {
		_, err := sandbox.Run(context.Background(), s)
		require.True(t, errors.Is(err, sandbox.ErrInvalidSpec), "%s: %v", name, err)
	}
}

func TestMountAtMovesTheWorktree(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.txt"), []byte("from the host"), 0o644))
	shared := filepath.Join(dir, "shared")
	require.NoError(t, os.Mkdir(shared, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(shared, "dep.txt"), []byte("nested bind"), 0o644))
	res := run(t, sandbox.Spec{
		Dir:      dir,
		MountAt:  "/moose/tree",
		ReadOnly: []string{shared},
		Args: []string{"sh", "-c", `pwd; cat in.txt; echo; cat /moose/tree/shared/dep.txt; echo; echo written > out.txt
			if [ -e "` + dir + `" ]; then echo "host path visible"; fi
			echo x > shared/dep.txt 2>/dev/null && echo "nested bind writable"; true`},
	})
	require.True(t, res.Success(), res.Stdout+res.Stderr)
	require.Equal(t, "/moose/tree\nfrom the host\nnested bind\n", res.Stdout, res.Stderr)
	out, err := os.ReadFile(filepath.Join(dir, "out.txt"))
	require.NoError(t, err)
	require.Equal(t, "written\n", string(out))
}
