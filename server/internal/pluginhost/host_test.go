package pluginhost_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

var (
	pluginDir string // testplugin and replay, shared read-only by every test
	testSum   string
	replaySum string
)

const (
	secretVar  = "MOOSE_PLUGINHOST_TEST_SECRET"
	allowedVar = "MOOSE_PLUGINHOST_TEST_ALLOWED"
)

func TestMain(m *testing.M) {
	if os.Getenv("PLUGINHOST_ORPHAN_HELPER") != "" {
		orphanHelper()
		return
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pluginhost-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginDir = dir
	for name, build := range map[string][]string{
		"testplugin":          {"github.com/moosehq/moose/plugins/internal/testplugin"},
		"moose-plugin-replay": {"github.com/moosehq/moose/plugins/replay"},
		// Another build of the same version, as a plugin author's rebuild makes.
		"testplugin-rebuilt": {"-ldflags", "-X main.build=two", "github.com/moosehq/moose/plugins/internal/testplugin"},
	} {
		pkg := build[len(build)-1]
		out, err := exec.Command("go", append([]string{"build", "-o", filepath.Join(dir, name)}, build...)...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	// The manifest lists the replay proposer only: testplugin is registered
	// explicitly by the tests that use it.
	if err := pluginhost.WriteManifest(dir, "moose-plugin-replay"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testSum, _ = pluginhost.FileSHA256(filepath.Join(dir, "testplugin"))
	replaySum, _ = pluginhost.FileSHA256(filepath.Join(dir, "moose-plugin-replay"))
	// The server's environment holds a secret no plugin may see.
	os.Setenv(secretVar, "s3cret-value")
	os.Setenv(allowedVar, "allowed-value")
	return m.Run()
}

func newHost(t *testing.T, mod ...func(*pluginhost.Config)) *pluginhost.Host {
	t.Helper()
	cfg := pluginhost.Config{
		Dir:            pluginDir,
		DataDir:        t.TempDir(),
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		RestartBackoff: 10 * time.Millisecond,
	}
	for _, f := range mod {
		f(&cfg)
	}
	h, err := pluginhost.New(cfg)
	require.NoError(t, err)
	require.NoError(t, h.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, h.Close(context.Background())) })
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testReg(version string, args ...string) pluginhost.Registration {
	return pluginhost.Registration{
		Kind: pluginhost.KindProposer, Name: "testplugin", Version: version,
		Command: "testplugin", Args: append([]string{"-version", version}, args...), SHA256: testSum,
	}
}

func propose(h *pluginhost.Host, version, title string, meta map[string]string) (*pluginv1.ProposeResponse, error) {
	return proposeTo(h, version, title, meta, "")
}

// proposeTo is propose for a variant with the given base URL.
func proposeTo(h *pluginhost.Host, version, title string, meta map[string]string, baseURL string) (*pluginv1.ProposeResponse, error) {
	return h.Propose(context.Background(), "testplugin", version, &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{Title: title, Metadata: meta},
		Variant:   &pluginv1.VariantConfig{BaseUrl: baseURL},
	})
}

// pidOf returns the plugin pid embedded in an echo answer: "title|size|pid".
func pidOf(t *testing.T, r *pluginv1.ProposeResponse) int {
	t.Helper()
	parts := strings.Split(r.GetText(), "|")
	require.Len(t, parts, 3, r.GetText())
	pid, err := strconv.Atoi(parts[2])
	require.NoError(t, err)
	return pid
}

func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && (b[i+2] == 'Z' || b[i+2] == 'X')
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool { return processGone(pid) }, 20*time.Second, 20*time.Millisecond, "process %d still alive", pid)
}

func TestRegisterProposeAndClose(t *testing.T) {
	t.Parallel()
	cfg := pluginhost.Config{Dir: pluginDir, DataDir: t.TempDir()}
	h, err := pluginhost.New(cfg)
	require.NoError(t, err)
	require.NoError(t, h.Start(context.Background()))

	pl, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	require.Equal(t, pluginhost.StateReady, pl.State)
	require.NotZero(t, pl.PID)
	require.Equal(t, []string{"whole"}, pl.Info.EditFormats)

	r, err := propose(h, "1.0.0", "hello", nil)
	require.NoError(t, err)
	require.Equal(t, pl.PID, pidOf(t, r))
	require.Equal(t, int64(2), r.GetOutputTokens())

	// An empty version picks the newest registration.
	_, err = h.Register(context.Background(), testReg("1.1.0"))
	require.NoError(t, err)
	r, err = propose(h, "", "hello", nil)
	require.NoError(t, err)
	got, err := h.Get(pluginhost.KindProposer, "testplugin", "1.1.0")
	require.NoError(t, err)
	require.Equal(t, got.PID, pidOf(t, r))
	require.Len(t, h.List(pluginhost.KindProposer), 2)
	require.Empty(t, h.List(pluginhost.KindValidator))

	// Re-registering the identical entry is idempotent.
	again, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	require.Equal(t, pl.PID, again.PID)

	require.NoError(t, h.Close(context.Background()))
	waitGone(t, pl.PID)
	waitGone(t, got.PID)
}

func TestMisbehavingPluginCostsOnlyThatCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		title     string
		freshProc bool
		crashed   bool
		timedOut  bool
		message   string
	}{
		{title: "panic", message: "plugin panicked"},
		{title: "panic-goroutine", freshProc: true, crashed: true, message: "crashed during Propose"},
		{title: "exit", freshProc: true, crashed: true, message: "crashed during Propose"},
		{title: "hang", freshProc: true, timedOut: true, message: "timed out"},
		{title: "sleep", timedOut: true, message: "timed out"},
	} {
		t.Run(tc.title, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, func(c *pluginhost.Config) {
				c.ProposeTimeout = 2 * time.Second
				c.HealthTimeout = 500 * time.Millisecond
			})
			_, err := h.Register(context.Background(), testReg("1.0.0"))
			require.NoError(t, err)
			r, err := propose(h, "1.0.0", "before", nil)
			require.NoError(t, err)
			before := pidOf(t, r)

			_, err = propose(h, "1.0.0", tc.title, nil)
			require.Error(t, err)
			require.ErrorContains(t, err, tc.message)
			var ce *pluginhost.CallError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.crashed, ce.Crashed, err.Error())
			require.Equal(t, tc.timedOut, ce.TimedOut, err.Error())
			if tc.crashed || tc.timedOut {
				require.ErrorIs(t, err, fault.ErrUnavailable)
			}

			r, err = propose(h, "1.0.0", "after", nil)
			require.NoError(t, err, "the next call must succeed")
			if tc.freshProc {
				require.NotEqual(t, before, pidOf(t, r), "expected a fresh process")
				waitGone(t, before)
				pl, err := h.Get(pluginhost.KindProposer, "testplugin", "1.0.0")
				require.NoError(t, err)
				require.Equal(t, 1, pl.Restarts)
			} else {
				require.Equal(t, before, pidOf(t, r))
			}
		})
	}
}

func TestRegisterRefusesBadRegistrations(t *testing.T) {
	t.Parallel()
	// A private plugin dir, so the symlinks below do not leak into other tests.
	dir := t.TempDir()
	outside := t.TempDir()
	copyFile(t, filepath.Join(pluginDir, "testplugin"), filepath.Join(dir, "testplugin"))
	copyFile(t, filepath.Join(pluginDir, "testplugin"), filepath.Join(outside, "testplugin"))
	require.NoError(t, os.Symlink(filepath.Join(outside, "testplugin"), filepath.Join(dir, "escape")))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Symlink("../testplugin", filepath.Join(dir, "sub", "inside")))
	h := newHost(t, func(c *pluginhost.Config) { c.Dir = dir })

	for _, tc := range []struct {
		name  string
		reg   func(r *pluginhost.Registration)
		field string
		msg   string
	}{
		{"wrong sha256", func(r *pluginhost.Registration) { r.SHA256 = strings.Repeat("ab", 32) }, "", "the request says " + strings.Repeat("ab", 32)},
		{"dot dot", func(r *pluginhost.Registration) { r.Command = "../testplugin" }, "command", "must not contain '..'"},
		{"absolute outside", func(r *pluginhost.Registration) { r.Command = filepath.Join(outside, "testplugin") }, "command", "outside the plugin directory"},
		{"symlink escape", func(r *pluginhost.Registration) { r.Command = "escape" }, "command", "outside the plugin directory"},
		{"missing", func(r *pluginhost.Registration) { r.Command = "nope" }, "", "no such file"},
		{"version mismatch", func(r *pluginhost.Registration) { r.Args = []string{"-version", "2.0.0"} }, "version", `binary reports version "2.0.0"`},
		{"name mismatch", func(r *pluginhost.Registration) { r.Args = append(r.Args, "-name", "other") }, "name", `binary reports name "other"`},
		{"kind mismatch", func(r *pluginhost.Registration) { r.Args = append(r.Args, "-kind", "validator") }, "kind", "does not serve the proposer service"},
		{"validator env", func(r *pluginhost.Registration) { r.Kind = pluginhost.KindValidator; r.Env = []string{"X"} }, "env_allowlist", "validators receive no server environment"},
		{"bad name", func(r *pluginhost.Registration) { r.Name = "Bad Name" }, "name", "lowercase"},
	} {
		reg := testReg("1.0.0")
		tc.reg(&reg)
		_, err := h.Register(context.Background(), reg)
		require.Error(t, err, tc.name)
		require.ErrorContains(t, err, tc.msg, tc.name)
		if tc.field != "" {
			var ve *fault.ValidationError
			require.ErrorAs(t, err, &ve, tc.name)
			require.Equal(t, tc.field, ve.Violations[0].Field, tc.name)
		} else {
			// The binary, not the request, is what is wrong.
			require.ErrorIs(t, err, fault.ErrFailedPrecondition, tc.name)
		}
	}
	require.Empty(t, h.List(""), "nothing refused may be registered")

	// A symlink that stays inside the directory is fine.
	reg := testReg("1.0.0")
	reg.Command = "sub/inside"
	_, err := h.Register(context.Background(), reg)
	require.NoError(t, err)
}

func TestVersionsAreImmutable(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	_, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	// Same version, another binary (the replay binary lies in the same dir).
	other := testReg("1.0.0")
	other.Command, other.SHA256 = "moose-plugin-replay", replaySum
	_, err = h.Register(context.Background(), other)
	require.ErrorIs(t, err, fault.ErrConflict)
	require.ErrorContains(t, err, "register a new version")
}

func TestPluginSeesOnlyAllowedEnvironment(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	reg := testReg("1.0.0")
	reg.Env = []string{allowedVar, "MOOSE_PLUGINHOST_TEST_UNSET"}
	reg.AllowedBaseURLs = []string{"https://models.example/v1"}
	_, err := h.Register(context.Background(), reg)
	require.NoError(t, err)
	// The allowlisted variable arrives with each call to an allowed endpoint,
	// never in the process environment.
	r, err := proposeTo(h, "1.0.0", "env", nil, "https://models.example/v1/")
	require.NoError(t, err)
	require.Contains(t, r.GetText(), "credential "+allowedVar+" allowed-value")
	require.NotContains(t, r.GetText(), allowedVar+"=")
	require.NotContains(t, r.GetText(), "MOOSE_PLUGINHOST_TEST_UNSET")
	r, err = proposeTo(h, "1.0.0", "env", nil, "https://elsewhere.example/v1")
	require.NoError(t, err)
	require.NotContains(t, r.GetText(), "allowed-value", "another endpoint gets no credentials")
	require.NotContains(t, r.GetText(), "s3cret-value")
	require.NotContains(t, r.GetText(), secretVar)
	require.NotContains(t, r.GetText(), "MOOSE_PLUGINHOST_TEST_UNSET")

	vreg := testReg("1.0.0", "-kind", "validator")
	vreg.Kind = pluginhost.KindValidator
	_, err = h.Register(context.Background(), vreg)
	require.NoError(t, err)
	v, err := h.Validate(context.Background(), "testplugin", "1.0.0", &pluginv1.ValidateRequest{WorkOrder: &pluginv1.WorkOrder{Title: "env"}})
	require.NoError(t, err)
	require.NotContains(t, v.GetLogs(), "s3cret-value")
	require.NotContains(t, v.GetLogs(), allowedVar)
	require.Contains(t, v.GetLogs(), "PATH=")
}

func TestReloadUnderLoadFailsNoCall(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	pl, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)

	var calls, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := propose(h, "1.0.0", "slow", map[string]string{"ms": "5"})
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	pids := []int{pl.PID}
	for range 3 {
		time.Sleep(50 * time.Millisecond) // let calls pile up on the current process
		pl, err := h.Reload(context.Background(), pluginhost.KindProposer, "testplugin", "1.0.0")
		require.NoError(t, err)
		pids = append(pids, pl.PID)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.Zero(t, failures.Load(), "first failure: %v", firstErr.Load())
	require.Greater(t, calls.Load(), int64(20))
	for _, pid := range pids[:len(pids)-1] {
		waitGone(t, pid) // drained, then stopped
	}
	require.False(t, processGone(pids[len(pids)-1]))
}

// TestRehashUnderLoadFailsNoCall: a plugin's binary is rebuilt while calls
// run. A plain reload refuses the new build (a failed precondition naming the
// checksum) and so does a rehash expecting another sha256; both leave the old
// process serving. A rehash pins and starts the new build, the old process is
// drained and stopped, and no call fails. Built-ins cannot be rehashed.
func TestRehashUnderLoadFailsNoCall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "testplugin")
	copyFile(t, filepath.Join(pluginDir, "testplugin"), bin)
	h := newHost(t, func(c *pluginhost.Config) { c.Dir = dir })
	ctx := context.Background()
	pl, err := h.Register(ctx, testReg("1.0.0"))
	require.NoError(t, err)
	require.Equal(t, "test plugin", pl.Info.Description)

	var calls, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := propose(h, "1.0.0", "slow", map[string]string{"ms": "5"})
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	// The rebuild replaces the file, as go build -o does.
	copyFile(t, filepath.Join(pluginDir, "testplugin-rebuilt"), bin+".new")
	require.NoError(t, os.Rename(bin+".new", bin))
	rebuiltSum, err := pluginhost.FileSHA256(bin)
	require.NoError(t, err)

	_, err = h.Reload(ctx, pluginhost.KindProposer, "testplugin", "1.0.0")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.ErrorIs(t, err, pluginhost.ErrChecksum)
	require.ErrorContains(t, err, "has sha256 "+rebuiltSum+", registered "+testSum)
	_, err = h.Rehash(ctx, pluginhost.KindProposer, "testplugin", "1.0.0", testSum)
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.ErrorContains(t, err, "the request says "+testSum)
	got, err := h.Get(pluginhost.KindProposer, "testplugin", "1.0.0")
	require.NoError(t, err)
	require.Equal(t, pl.PID, got.PID, "refused reloads leave the old process serving")
	require.Equal(t, testSum, got.SHA256)

	time.Sleep(50 * time.Millisecond)
	rehashed, err := h.Rehash(ctx, pluginhost.KindProposer, "testplugin", "1.0.0", strings.ToUpper(rebuiltSum))
	require.NoError(t, err)
	require.Equal(t, rebuiltSum, rehashed.SHA256)
	require.Equal(t, "test plugin, build two", rehashed.Info.Description)
	require.Equal(t, pl.CreatedAt, rehashed.CreatedAt, "still the same registration")
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.Zero(t, failures.Load(), "first failure: %v", firstErr.Load())
	require.Greater(t, calls.Load(), int64(20))
	r, err := propose(h, "1.0.0", "hello", nil)
	require.NoError(t, err)
	require.Equal(t, rehashed.PID, pidOf(t, r), "the new build answers")
	waitGone(t, pl.PID)

	// A reload now starts the newly pinned build.
	reloaded, err := h.Reload(ctx, pluginhost.KindProposer, "testplugin", "1.0.0")
	require.NoError(t, err)
	require.Equal(t, rebuiltSum, reloaded.SHA256)
	require.NotEqual(t, rehashed.PID, reloaded.PID)

	_, err = h.RegisterBuiltins(ctx, pluginDir)
	require.NoError(t, err)
	_, err = h.Rehash(ctx, pluginhost.KindProposer, "replay", "1.0.0", "")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.ErrorContains(t, err, "built-ins are pinned by the plugin manifest")
}

// TestStrayStderrReachesHostLog: what a plugin writes straight to os.Stderr
// while serving (go-plugin has swapped it for its stdio stream by then) is
// re-emitted in the host's log with the plugin's id, like its sdk.Logger lines.
func TestStrayStderrReachesHostLog(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h := newHost(t, func(c *pluginhost.Config) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	_, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	_, err = propose(h, "1.0.0", "stderr", map[string]string{"line": "written to os.Stderr after Serve"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `"msg":"written to os.Stderr after Serve"`) && strings.Contains(l, `"plugin":"proposer/testplugin/1.0.0"`) {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "host log:\n%s", logs)
}

func TestUnregisterDrainsInFlightCalls(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	pl, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := propose(h, "1.0.0", "slow", map[string]string{"ms": "300"})
		done <- err
	}()
	require.Eventually(t, func() bool { return !processGone(pl.PID) }, time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the call is in flight
	require.NoError(t, h.Unregister(context.Background(), pluginhost.KindProposer, "testplugin", "1.0.0"))
	require.NoError(t, <-done, "the in-flight call must finish")
	_, err = propose(h, "1.0.0", "hello", nil)
	require.ErrorIs(t, err, fault.ErrNotFound)
	waitGone(t, pl.PID)
	require.ErrorIs(t, h.Unregister(context.Background(), pluginhost.KindProposer, "testplugin", "1.0.0"), fault.ErrNotFound)
}

func TestQuarantineAfterRepeatedCrashes(t *testing.T) {
	t.Parallel()
	h := newHost(t, func(c *pluginhost.Config) { c.QuarantineAfter = 2 })
	_, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	for range 2 {
		_, err = propose(h, "1.0.0", "exit", nil)
		require.Error(t, err)
	}
	_, err = propose(h, "1.0.0", "hello", nil)
	require.ErrorIs(t, err, fault.ErrUnavailable)
	require.ErrorContains(t, err, "quarantined")
	pl, err := h.Get(pluginhost.KindProposer, "testplugin", "1.0.0")
	require.NoError(t, err)
	require.Equal(t, pluginhost.StateQuarantined, pl.State)

	_, err = h.Reload(context.Background(), pluginhost.KindProposer, "testplugin", "1.0.0")
	require.NoError(t, err)
	_, err = propose(h, "1.0.0", "hello", nil)
	require.NoError(t, err, "a reload lifts the quarantine")
}

func TestLargeMessages(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	_, err := h.Register(context.Background(), testReg("1.0.0"))
	require.NoError(t, err)
	const size = 20 << 20 // far beyond gRPC's 4 MiB default
	r, err := h.Propose(context.Background(), "testplugin", "1.0.0", &pluginv1.ProposeRequest{
		WorkOrder: &pluginv1.WorkOrder{Title: "in"},
		Project:   &pluginv1.ProjectContext{Files: []*pluginv1.File{{Path: "big.txt", Content: strings.Repeat("y", size)}}},
	})
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(size), strings.Split(r.GetText(), "|")[1])
	r, err = propose(h, "1.0.0", "big", map[string]string{"size": fmt.Sprint(size)})
	require.NoError(t, err)
	require.Len(t, r.GetText(), size)
}

func TestRegisterBuiltinsAndReplay(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	pls, err := h.RegisterBuiltins(context.Background(), pluginDir)
	require.NoError(t, err)
	require.Len(t, pls, 1, "only the binaries the manifest lists are built-ins")
	require.Equal(t, pluginhost.KindProposer, pls[0].Kind)
	require.Equal(t, "replay", pls[0].Name)
	require.True(t, pls[0].Builtin)
	// Registering again (a second start) is idempotent.
	again, err := h.RegisterBuiltins(context.Background(), pluginDir)
	require.NoError(t, err)
	require.Equal(t, pls[0].PID, again[0].PID)

	cassette := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(`
model: recorded
entries:
  - key: Add Reverse
    cycle: 1
    input_tokens: 10
    output_tokens: 20
    text: "a.go\n`+"```go\\npackage a\\n```"+`\n"
`), 0o644))
	req := &pluginv1.ProposeRequest{WorkOrder: &pluginv1.WorkOrder{Title: "Add Reverse"}, Cycle: 1, Variant: &pluginv1.VariantConfig{BaseUrl: cassette}}
	r, err := h.Propose(context.Background(), "replay", "", req)
	require.NoError(t, err)
	require.Equal(t, "recorded", r.GetModel())
	require.Equal(t, int64(20), r.GetOutputTokens())
	require.Contains(t, r.GetText(), "package a")

	req.WorkOrder.Title = "Unknown"
	_, err = h.Propose(context.Background(), "replay", "", req)
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.ErrorContains(t, err, `no entry for key "Unknown"`)
}

// TestOrphansAreReaped: a host is SIGKILLed while its plugin has a child; the
// plugin dies with the host (Pdeathsig) and the next host with the same data
// directory kills the child it left behind.
func TestOrphansAreReaped(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PLUGINHOST_ORPHAN_HELPER=1", "HELPER_PLUGIN_DIR="+pluginDir,
		"HELPER_DATA_DIR="+dataDir, "HELPER_PIDFILE="+pidfile, "HELPER_SUM="+testSum)
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "helper did not report")
	pluginPID, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err, line)
	b, err := os.ReadFile(pidfile)
	require.NoError(t, err)
	childPID, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	require.False(t, processGone(childPID))

	require.NoError(t, cmd.Process.Kill()) // kill -9 moosed
	_ = cmd.Wait()
	waitGone(t, pluginPID) // Pdeathsig
	require.False(t, processGone(childPID), "the grandchild outlives the host: only reaping removes it")

	// An unrelated host (other data dir) leaves it alone.
	newHost(t)
	require.False(t, processGone(childPID))

	newHost(t, func(c *pluginhost.Config) { c.DataDir = dataDir })
	waitGone(t, childPID)
}

func orphanHelper() {
	h, err := pluginhost.New(pluginhost.Config{Dir: os.Getenv("HELPER_PLUGIN_DIR"), DataDir: os.Getenv("HELPER_DATA_DIR")})
	if err == nil {
		err = h.Start(context.Background())
	}
	var pl pluginhost.Plugin
	if err == nil {
		reg := pluginhost.Registration{Kind: pluginhost.KindProposer, Name: "testplugin", Version: "1.0.0",
			Command: "testplugin", Args: []string{"-child-pidfile", os.Getenv("HELPER_PIDFILE")}, SHA256: os.Getenv("HELPER_SUM")}
		pl, err = h.Register(context.Background(), reg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	fmt.Println(pl.PID)
	select {}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}
