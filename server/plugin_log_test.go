package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestPluginLogsReachMoosedLog: a line a plugin logs with sdk.Logger() while
// serving a call is re-emitted in moosed's own log, tagged with the plugin.
func TestPluginLogsReachMoosedLog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "shouter")
	out, err := exec.Command("go", "build", "-o", bin, "../examples/plugins/shouter").CombinedOutput()
	require.NoError(t, err, string(out))
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	logs := &lockedBuffer{}
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) {
		c.PluginDir = pluginDir
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}))
	conn := srv.Dial(t)
	ctx := context.Background()
	_, err = moosev1.NewPluginServiceClient(conn).RegisterPlugin(ctx, &moosev1.RegisterPluginRequest{
		Kind: "proposer", Name: "shouter", Version: "0.1.0", Command: "shouter", Sha256: hex.EncodeToString(sum[:])})
	require.NoError(t, err)
	variants := moosev1.NewVariantServiceClient(conn)
	_, err = variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "shouty", PluginName: "shouter", Model: "loud-1"})
	require.NoError(t, err)
	resp, err := variants.TryVariant(ctx, &moosev1.TryVariantRequest{Id: "shouty", WorkOrder: &moosev1.TryWorkOrder{Title: "log me", Complexity: 1}})
	require.NoError(t, err)
	require.Contains(t, resp.GetText(), "# LOG ME")

	// shouter logs "proposing" with the title and model from inside Propose.
	found := func() map[string]any {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "proposing" && rec["title"] == "log me" {
				return rec
			}
		}
		return nil
	}
	require.Eventually(t, func() bool { return found() != nil }, 10*time.Second, 20*time.Millisecond, "moosed's log:\n%s", logs)
	rec := found()
	require.Equal(t, "proposer/shouter/0.1.0", rec["plugin"])
	require.Equal(t, "loud-1", rec["model"])
	require.Equal(t, "INFO", rec["level"])
}
