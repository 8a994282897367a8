package e2e_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/servertest"
)

// TestWritablePluginDirStopsStartup: moosed refuses to start on a plugin
// directory (or manifest) other users could write, with one error line that
// names the path and the fix, and a non-zero exit, not a panic.
func TestWritablePluginDirStopsStartup(t *testing.T) {
	skipShort(t)
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) (path string)
	}{
		{"group-writable directory", func(t *testing.T, dir string) string {
			require.NoError(t, os.Chmod(dir, 0o775))
			return dir
		}},
		{"world-writable manifest", func(t *testing.T, dir string) string {
			m := filepath.Join(dir, servertest.PluginManifestFile)
			require.NoError(t, os.WriteFile(m, []byte(`{"format":1,"plugins":[]}`), 0o644))
			require.NoError(t, os.Chmod(m, 0o666))
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := traversableDir(t, "moose-e2e-plugins-")
			path := tt.prepare(t, dir)
			cmd := exec.Command(moosedBin, "--plugin-dir", dir, "--data-dir", traversableDir(t, "moose-e2e-data-"),
				// Never reached: the check comes before any database work.
				"--database-url", "postgres://moose@127.0.0.1:1/none", "--grpc-addr", freeAddr(t), "--http-addr", freeAddr(t))
			cmd.Env = cleanEnv()
			cmd.WaitDelay = 10 * time.Second
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "moosed must exit with an error, got %v: %s", err, out)
			require.Equal(t, 1, exit.ExitCode(), "%s", out)
			text := strings.TrimSpace(string(out))
			require.NotContains(t, text, "panic")
			require.NotContains(t, text, "\n", "one error line")
			require.Contains(t, text, path+" is writable by group or others")
			require.Contains(t, text, "chmod go-w "+path)
		})
	}
}
