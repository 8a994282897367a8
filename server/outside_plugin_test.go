package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestOutsidePluginRegisteredAtRuntime follows the SDK guide as a plugin
// author would: build a plugin that imports only plugins/sdk, register it with
// moosectl on a running server, give it a variant and call it — no restart.
func TestOutsidePluginRegisteredAtRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	pluginDir := t.TempDir()
	toolDir := t.TempDir()
	for pkg, out := range map[string]string{
		"../examples/plugins/shouter": filepath.Join(pluginDir, "shouter"),
		"../clients/cmd/moosectl":     filepath.Join(toolDir, "moosectl"),
	} {
		b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput()
		require.NoError(t, err, string(b))
	}
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PluginDir = pluginDir }))
	ctl := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := exec.Command(filepath.Join(toolDir, "moosectl"), append([]string{"--server", srv.GRPCAddr()}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	out, err := ctl("plugin", "register", "proposer", "shouter", "0.1.0", "--command", "shouter", "--sha256", strings.Repeat("0", 64))
	require.Error(t, err, "a wrong sha256 is refused")
	require.Contains(t, out, "sha256")

	out, err = ctl("plugin", "register", "proposer", "shouter", "0.1.0", "--command", filepath.Join(pluginDir, "shouter"))
	require.NoError(t, err, out)
	out, err = ctl("variant", "create", "shouty", "--plugin", "shouter", "--model", "none")
	require.NoError(t, err, out)

	wo := filepath.Join(t.TempDir(), "wo.yaml")
	require.NoError(t, os.WriteFile(wo, []byte("title: add release notes\ncomplexity: 1\n"), 0o644))
	out, err = ctl("variant", "try", "shouty", "-f", wo)
	require.NoError(t, err, out)
	require.Contains(t, out, "# ADD RELEASE NOTES", "the plugin's own answer came back")

	out, err = ctl("plugin", "list", "--kind", "proposer")
	require.NoError(t, err, out)
	require.Contains(t, out, "shouter")
}
