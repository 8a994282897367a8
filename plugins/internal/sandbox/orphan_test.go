package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// hostMarker is the MOOSE_PLUGIN_HOST value TestMain gives this test binary,
// as moosed gives every plugin process its own.
var hostMarker = "sandbox-test-" + strconv.Itoa(os.Getpid())

// environOf returns a process's environment, or nil when it is gone.
func environOf(pid string) []string {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "environ"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// TestSandboxCarriesHostMarkers: bwrap itself carries the plugin host's
// markers (so a restarted moosed can find and reap a sandbox its dead
// predecessor left) and names its creator, while the sandboxed command's
// environment holds none of them.
func TestSandboxCarriesHostMarkers(t *testing.T) {
	t.Parallel()
	requireSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	tag := fmt.Sprintf("62.%d", time.Now().UnixNano()%1000000)
	done := make(chan sandbox.Result, 1)
	go func() {
		res, _ := sandbox.Run(ctx, sandbox.Spec{Dir: dir, Args: []string{"sh", "-c", fmt.Sprintf("env > env.txt; sleep %s", tag)}})
		done <- res
	}()
	// bwrap's own command line names the tag too: wait for the sleep itself.
	require.Eventually(t, func() bool {
		for _, s := range survivors(t, tag) {
			if _, cmd, _ := strings.Cut(s, ": "); strings.HasPrefix(cmd, "sleep") {
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond)

	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var marked, bwraps int
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), tag) {
			continue
		}
		env := environOf(e.Name())
		isBwrap := strings.Contains(string(cmdline), "bwrap")
		if isBwrap {
			bwraps++
			require.Contains(t, env, "MOOSE_PLUGIN_HOST="+hostMarker, "bwrap %s carries the host id", e.Name())
			require.Contains(t, env, "MOOSE_PLUGIN_HOST_OWNER="+os.Getenv("MOOSE_PLUGIN_HOST_OWNER"))
			require.Contains(t, strings.Join(env, "\n"), sandbox.EnvMarker+"="+strconv.Itoa(os.Getpid())+"-", "bwrap names its creator")
			marked++
			continue
		}
		if strings.HasPrefix(string(cmdline), "sleep") {
			for _, kv := range env {
				require.False(t, strings.HasPrefix(kv, "MOOSE_"), "the sandboxed command's environment holds %s", kv)
			}
		}
	}
	require.Positive(t, bwraps, "bwrap processes found")
	require.Equal(t, bwraps, marked)

	env, err := os.ReadFile(filepath.Join(dir, "env.txt"))
	require.NoError(t, err)
	require.NotContains(t, string(env), "MOOSE_", "the sandboxed command sees no marker")
	cancel()
	require.True(t, (<-done).Canceled)
	require.Empty(t, survivors(t, tag))
}
