package variant_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/price"
	"github.com/moosehq/moose/server/internal/variant"
)

var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "variant-test")
	if err != nil {
		panic(err)
	}
	pluginDir = dir
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "moose-plugin-replay"), "github.com/moosehq/moose/plugins/replay").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build replay: %v\n%s", err, out)
		os.Exit(1)
	}
	if err := pluginhost.WriteManifest(dir, "moose-plugin-replay"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func setup(t *testing.T) (*variant.Service, *pluginhost.Host) {
	t.Helper()
	h, err := pluginhost.New(pluginhost.Config{Dir: pluginDir, DataDir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, h.Start(context.Background()))
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	_, err = h.RegisterBuiltins(context.Background(), pluginDir)
	require.NoError(t, err)
	return variant.NewService(dbtest.New(t), h), h
}

func cassette(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`
model: rec-model
entries:
  - key: Add Reverse
    input_tokens: 1000000
    output_tokens: 500000
    text: "reverse.go\n`+"```go\\npackage strutil\\n```"+`\n"
`), 0o644))
	return p
}

func TestCreateGetListRetire(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	v, err := svc.Create(ctx, variant.Variant{Name: "replay-a", PluginName: "replay", Model: "m", Temperature: 0.2,
		InputPricePerMTok: 0.15, OutputPricePerMTok: 0.6, Params: map[string]string{"k": "v"}})
	require.NoError(t, err)
	require.Equal(t, variant.StatusActive, v.Status)
	require.Equal(t, "whole", v.EditFormat, "default edit format")
	require.NoError(t, uuid.Validate(v.ID))

	byName, err := svc.Get(ctx, "replay-a")
	require.NoError(t, err)
	require.Equal(t, v.ID, byName.ID)
	require.Equal(t, map[string]string{"k": "v"}, byName.Params)

	_, err = svc.Create(ctx, variant.Variant{Name: "replay-a", PluginName: "replay"})
	require.ErrorIs(t, err, fault.ErrConflict)

	_, err = svc.Create(ctx, variant.Variant{Name: "replay-b", PluginName: "replay"})
	require.NoError(t, err)
	all, err := svc.List(ctx, variant.ListFilter{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "replay-b", all[0].Name, "newest first")

	r, err := svc.Retire(ctx, v.ID)
	require.NoError(t, err)
	require.Equal(t, variant.StatusRetired, r.Status)
	require.NotNil(t, r.RetiredAt)
	active, err := svc.List(ctx, variant.ListFilter{Status: variant.StatusActive})
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, "replay-b", active[0].Name)

	_, err = svc.Get(ctx, uuid.NewString())
	require.ErrorIs(t, err, fault.ErrNotFound)
}

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	_, err := svc.Create(context.Background(), variant.Variant{Name: "Bad Name", PluginName: "nope", EditFormat: "poem",
		Temperature: 3, FewShotCount: -1, InputPricePerMTok: -1})
	var ve *fault.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field)
	}
	require.ElementsMatch(t, []string{"name", "plugin_name", "edit_format", "temperature", "few_shot_count", "input_price_per_mtok"}, fields)
}

func TestTryVariant(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	_, err := svc.Create(ctx, variant.Variant{Name: "rep", PluginName: "replay", BaseURL: cassette(t),
		InputPricePerMTok: 0.15, OutputPricePerMTok: 0.6})
	require.NoError(t, err)
	res, err := svc.Try(ctx, "rep", variant.TryRequest{Title: "Add Reverse", Complexity: 2})
	require.NoError(t, err)
	require.Contains(t, res.Text, "package strutil")
	require.Equal(t, "rec-model", res.Model)
	require.Equal(t, int64(1000000), res.InputTokens)
	require.InDelta(t, 0.15+0.3, res.CostUSD, 1e-9)
	require.Positive(t, res.Latency)

	_, err = svc.Try(ctx, "rep", variant.TryRequest{Title: "Unknown"})
	require.ErrorContains(t, err, `no entry for key "Unknown"`)
	_, err = svc.Try(ctx, "rep", variant.TryRequest{Title: "Add Reverse", ProjectID: uuid.NewString()})
	require.ErrorIs(t, err, fault.ErrNotFound)
	_, err = svc.Try(ctx, "rep", variant.TryRequest{})
	var ve *fault.ValidationError
	require.ErrorAs(t, err, &ve)
}

// TestPrices: a variant's own prices win (cache prices it does not give
// follow its input price), else the catalog prices its model, else nothing.
func TestPrices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		v      variant.Variant
		want   price.Prices
		source string
	}{
		{"catalog", variant.Variant{Model: "claude-3-5-haiku-latest"},
			price.Prices{Input: 0.80, CacheRead: 0.08, CacheWrite: 1, Output: 4}, variant.PriceSourceCatalog},
		{"own, cache derived", variant.Variant{Model: "claude-sonnet-4-5", InputPricePerMTok: 2, OutputPricePerMTok: 10},
			price.Prices{Input: 2, CacheRead: 0.2, CacheWrite: 2.5, Output: 10}, variant.PriceSourceVariant},
		{"own cache price", variant.Variant{Model: "gpt-4o-mini", InputPricePerMTok: 0.2, OutputPricePerMTok: 0.8, CacheReadPricePerMTok: 0.05},
			price.Prices{Input: 0.2, CacheRead: 0.05, CacheWrite: 0.2, Output: 0.8}, variant.PriceSourceVariant},
		{"open model", variant.Variant{Model: "Qwen/Qwen2.5-Coder-7B-Instruct"}, price.Prices{}, variant.PriceSourceCatalog},
		{"unknown", variant.Variant{Model: "my-finetune"}, price.Prices{}, variant.PriceSourceNone},
	}
	for _, tc := range tests {
		got, source := tc.v.Prices()
		require.Equal(t, tc.source, source, tc.name)
		require.InDelta(t, tc.want.Input, got.Input, 1e-12, tc.name)
		require.InDelta(t, tc.want.CacheRead, got.CacheRead, 1e-12, tc.name)
		require.InDelta(t, tc.want.CacheWrite, got.CacheWrite, 1e-12, tc.name)
		require.InDelta(t, tc.want.Output, got.Output, 1e-12, tc.name)
	}
	v := variant.Variant{Model: "gpt-4o-mini"}
	require.InDelta(t, (952*0.15+2048*0.075+200*0.60)/1e6, v.Cost(price.Usage{Input: 3000, CacheRead: 2048, Output: 200}), 1e-15)
}
