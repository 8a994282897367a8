package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// lockedBuffer collects a server's log lines from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// copyPlugin copies the built-in binary name from the shared plugin build
// into dir.
func copyPlugin(t *testing.T, dir, name string) string {
	t.Helper()
	src, err := os.Open(filepath.Join(servertest.BuiltinPluginDir(t), name))
	require.NoError(t, err)
	defer src.Close()
	dst := filepath.Join(dir, name)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, src)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	return dst
}

// startWithPluginDir starts a server on dir and returns the names of the
// plugins its API lists as built-ins, and its log.
func startWithPluginDir(t *testing.T, dir string) ([]string, string) {
	t.Helper()
	logs := &lockedBuffer{}
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) {
		c.PluginDir = dir
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	c := dial(t, srv)
	resp, err := moosev1.NewPluginServiceClient(c.conn).ListPlugins(context.Background(), &moosev1.ListPluginsRequest{})
	require.NoError(t, err)
	var names []string
	for _, p := range resp.GetPlugins() {
		if p.GetBuiltin() {
			names = append(names, p.GetName())
		}
	}
	sort.Strings(names)
	return names, logs.String()
}

// TestBuiltinsComeOnlyFromTheManifest: of two moose-plugin-* binaries in the
// plugin directory, only the one the manifest lists is a built-in; the other
// is ignored with a log line and stays unregistered as far as the API shows.
func TestBuiltinsComeOnlyFromTheManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins")
	}
	t.Parallel()
	dir := t.TempDir()
	copyPlugin(t, dir, "moose-plugin-replay")
	copyPlugin(t, dir, "moose-plugin-architect-replay")
	require.NoError(t, servertest.WritePluginManifest(dir, "moose-plugin-replay"))

	names, logs := startWithPluginDir(t, dir)
	require.Equal(t, []string{"replay"}, names, "only the listed binary is a built-in")
	require.Contains(t, logs, "plugin binary not in the built-in manifest")
	require.Contains(t, logs, "moose-plugin-architect-replay")
}

// TestBuiltinWithChangedContentsIsRefused: a listed binary whose bytes no
// longer match the manifest's sha256 is not registered, and the log says why.
func TestBuiltinWithChangedContentsIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins")
	}
	t.Parallel()
	dir := t.TempDir()
	copyPlugin(t, dir, "moose-plugin-replay")
	bin := copyPlugin(t, dir, "moose-plugin-architect-replay")
	require.NoError(t, servertest.WritePluginManifest(dir, "moose-plugin-replay", "moose-plugin-architect-replay"))
	// Still a runnable ELF binary, but not the one that was built.
	f, err := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("tampered")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	names, logs := startWithPluginDir(t, dir)
	require.Equal(t, []string{"replay"}, names, "the changed binary is refused, the intact one registered")
	require.Contains(t, logs, "built-in plugin refused: its sha256 differs from the manifest")
	require.Contains(t, logs, "moose-plugin-architect-replay")
}

// TestNoManifestNoBuiltins: without a manifest nothing is trusted by file
// name, and the warning says how to produce one.
func TestNoManifestNoBuiltins(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins")
	}
	t.Parallel()
	dir := t.TempDir()
	copyPlugin(t, dir, "moose-plugin-replay")

	names, logs := startWithPluginDir(t, dir)
	require.Empty(t, names)
	require.Contains(t, logs, "no built-in plugin manifest")
	require.Contains(t, logs, "make build")
}
