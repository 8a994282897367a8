package pluginhost_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

func TestCatalogSurvivesRestart(t *testing.T) {
	t.Parallel()
	store := pluginhost.NewPGStore(dbtest.New(t))
	withStore := func(c *pluginhost.Config) { c.Store = store }

	h1, err := pluginhost.New(pluginhost.Config{Dir: pluginDir, DataDir: t.TempDir(), Store: store})
	require.NoError(t, err)
	require.NoError(t, h1.Start(context.Background()))
	reg := testReg("1.0.0")
	reg.Env = []string{allowedVar}
	reg.AllowedBaseURLs = []string{"https://models.example/v1"}
	_, err = h1.Register(context.Background(), reg)
	require.NoError(t, err)
	require.NoError(t, h1.Close(context.Background()))

	h2 := newHost(t, withStore)
	r, err := proposeTo(h2, "1.0.0", "env", nil, "https://models.example/v1") // waits for the eager launch
	require.NoError(t, err)
	require.Contains(t, r.GetText(), "credential "+allowedVar+" allowed-value", "the allowlist and its endpoints are persisted")
	pl, err := h2.Get(pluginhost.KindProposer, "testplugin", "1.0.0")
	require.NoError(t, err)
	require.Equal(t, []string{"-version", "1.0.0"}, pl.Args)

	// Unregistering removes it from the store; it may then be registered again.
	require.NoError(t, h2.Unregister(context.Background(), pluginhost.KindProposer, "testplugin", "1.0.0"))
	h3 := newHost(t, withStore)
	require.Empty(t, h3.List(""))
	_, err = h3.Register(context.Background(), reg)
	require.NoError(t, err)

	// The stored version is immutable for every later host.
	h4 := newHost(t, withStore)
	other := testReg("1.0.0")
	other.Command, other.SHA256 = "moose-plugin-replay", replaySum
	_, err = h4.Register(context.Background(), other)
	require.ErrorIs(t, err, fault.ErrConflict)
}
