package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
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
		cmd.Env = append(os.Environ(), "MOOSE_TOKEN="+srv.AdminToken())
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

// TestPluginRegisteredOnOneNodeServesOnAnother runs two moosed nodes on one
// database: a plugin registered through the first is adopted by the second on
// first use, with no restart.
func TestPluginRegisteredOnOneNodeServesOnAnother(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "shouter")
	b, err := exec.Command("go", "build", "-o", bin, "../examples/plugins/shouter").CombinedOutput()
	require.NoError(t, err, string(b))
	sum := sha256.New()
	f, err := os.Open(bin)
	require.NoError(t, err)
	_, err = io.Copy(sum, f)
	f.Close()
	require.NoError(t, err)

	dsn := dbtest.DSN(t)
	withDir := servertest.WithConfig(func(c *server.Config) { c.PluginDir = pluginDir })
	a := dial(t, servertest.Start(t, servertest.WithDatabaseURL(dsn), withDir))
	bNode := dial(t, servertest.Start(t, servertest.WithDatabaseURL(dsn), withDir))
	ctx := context.Background()

	_, err = moosev1.NewPluginServiceClient(a.conn).RegisterPlugin(ctx, &moosev1.RegisterPluginRequest{
		Kind: "proposer", Name: "shouter", Version: "0.1.0", Command: "shouter", Sha256: hex.EncodeToString(sum.Sum(nil))})
	require.NoError(t, err)
	// The variant is created on the other node too: the shared catalog is enough.
	_, err = moosev1.NewVariantServiceClient(bNode.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "shouty", PluginName: "shouter"})
	require.NoError(t, err)

	resp, err := moosev1.NewVariantServiceClient(bNode.conn).TryVariant(ctx, &moosev1.TryVariantRequest{
		Id: "shouty", WorkOrder: &moosev1.TryWorkOrder{Title: "served elsewhere", Complexity: 1}})
	require.NoError(t, err)
	require.Contains(t, resp.GetText(), "# SERVED ELSEWHERE")
}
