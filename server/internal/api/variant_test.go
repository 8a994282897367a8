package api_test

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/variant"
)

// providerHost builds the real openai and anthropic proposers, registers them
// as built-ins and returns a variant handler over them. cfg adjusts the host
// (which keys it releases, and where to).
func providerHost(t *testing.T, cfg func(*pluginhost.Config)) *api.VariantHandler {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"openai", "anthropic"} {
		file := "moose-plugin-" + name
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, file), "github.com/moosehq/moose/plugins/"+name).CombinedOutput()
		require.NoError(t, err, "%s", out)
		files = append(files, file)
	}
	require.NoError(t, pluginhost.WriteManifest(dir, files...))
	c := pluginhost.Config{Dir: dir, DataDir: t.TempDir()}
	if cfg != nil {
		cfg(&c)
	}
	host, err := pluginhost.New(c)
	require.NoError(t, err)
	require.NoError(t, host.Start(ctx))
	t.Cleanup(func() { _ = host.Close(context.Background()) })
	_, err = host.RegisterBuiltins(ctx, dir)
	require.NoError(t, err)
	return api.NewVariantHandler(variant.NewService(dbtest.New(t), host), slog.New(slog.NewTextHandler(testLog{t}, nil)))
}

// TestCreateVariantRefusesUnknownParams: a param the variant's plugin does not
// read, or a documented one whose value does not parse, is an InvalidArgument
// field violation naming it, where before it was stored and silently dropped
// on every call. The params each plugin does read are accepted.
func TestCreateVariantRefusesUnknownParams(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := providerHost(t, nil)

	_, err := h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini", PluginName: "openai", Model: "gpt-4o-mini",
		Params: map[string]string{"reasoning_effort": "low", "frequency_bias": "0.3", "seed": "forty-two"}})
	v := violations(t, err)
	require.Len(t, v, 2, "%v", v)
	require.Contains(t, v["params.frequency_bias"], "plugin openai does not read it")
	require.Contains(t, v["params.seed"], "not an integer")

	_, err = h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "sonnet", PluginName: "anthropic", Model: "claude-sonnet-4-5",
		Params: map[string]string{"seed": "7", "extra": `{"model": "claude-opus-4-1"}`}})
	v = violations(t, err)
	require.Contains(t, v["params.seed"], "plugin anthropic does not read it", "the messages API takes no seed")
	require.Contains(t, v["params.extra"], `may not set "model"`)

	ok, err := h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini", PluginName: "openai", Model: "gpt-4o-mini",
		Params: map[string]string{"reasoning_effort": "low", "seed": "42", "top_p": "0.9", "stop": `["END"]`,
			"extra": `{"top_k": 20}`, "timeout": "90s", "temperature": "omit"}})
	require.NoError(t, err)
	require.Equal(t, "42", ok.GetVariant().GetParams()["seed"])
}
