package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync"
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

// fakeProvider answers one API path with body and records request bodies:
// POST /v1/chat/completions for OpenAI, POST /v1/messages for Anthropic.
type fakeProvider struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []map[string]any
}

func newFakeProvider(t *testing.T, path, body string) *fakeProvider {
	f := &fakeProvider{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		raw, _ := io.ReadAll(r.Body)
		var req map[string]any
		_ = json.Unmarshal(raw, &req)
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.reqs...)
}

// TestTryVariantCostsCachedTokens drives the real openai and anthropic
// plugins against servers speaking their APIs, whose usage reports prompt
// cache hits: the try answer carries the cache counts, and the cost prices
// them at the cache rates (gpt-4o-mini reads at 0.5x the input price, Claude
// reads at 0.1x and writes at 1.25x), where before every cached token cost
// the full input price. A variant without prices is priced by the built-in
// catalog (before: $0); prices on the variant override it.
func TestTryVariantCostsCachedTokens(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	openai := newFakeProvider(t, "/v1/chat/completions", `{"id":"chatcmpl-1","object":"chat.completion","created":1730000000,
"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":3000,"completion_tokens":200,"total_tokens":3200,"prompt_tokens_details":{"cached_tokens":2048}}}`)
	anthropic := newFakeProvider(t, "/v1/messages", `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":120,"cache_creation_input_tokens":1800,"cache_read_input_tokens":6000,"output_tokens":400}}`)
	h := providerHost(t, func(c *pluginhost.Config) {
		c.LookupEnv = func(name string) (string, bool) { return "sk-ant-test-key", name == "ANTHROPIC_API_KEY" }
		c.BuiltinBaseURLs = map[string][]string{"anthropic": {anthropic.srv.URL}}
	})

	// No prices given: the catalog's for gpt-4o-mini.
	mini, err := h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: openai.srv.URL + "/v1"})
	require.NoError(t, err)
	require.Equal(t, &moosev1.Prices{InputPerMtok: 0.15, CacheReadPerMtok: 0.075, CacheWritePerMtok: 0.15, OutputPerMtok: 0.60, Source: "catalog"},
		mini.GetVariant().GetEffectivePrices())
	res, err := h.TryVariant(ctx, &moosev1.TryVariantRequest{Id: "mini", WorkOrder: &moosev1.TryWorkOrder{Title: "Add Shout"}})
	require.NoError(t, err)
	require.EqualValues(t, 3000, res.GetInputTokens())
	require.EqualValues(t, 2048, res.GetCacheReadInputTokens())
	require.InDelta(t, (952*0.15+2048*0.075+200*0.60)/1e6, res.GetCostUsd(), 1e-15)
	require.Len(t, openai.requests(), 1)

	// Prices on the variant override the catalog; the cache price follows its
	// input price at the catalog's ratio (half, for gpt-4o-mini).
	gateway, err := h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini-gateway", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: openai.srv.URL + "/v1", InputPricePerMtok: 1, OutputPricePerMtok: 2})
	require.NoError(t, err)
	require.Equal(t, &moosev1.Prices{InputPerMtok: 1, CacheReadPerMtok: 0.5, CacheWritePerMtok: 1, OutputPerMtok: 2, Source: "variant"},
		gateway.GetVariant().GetEffectivePrices())
	res, err = h.TryVariant(ctx, &moosev1.TryVariantRequest{Id: "mini-gateway", WorkOrder: &moosev1.TryWorkOrder{Title: "Add Shout"}})
	require.NoError(t, err)
	require.InDelta(t, (952*1+2048*0.5+200*2)/1e6, res.GetCostUsd(), 1e-15)

	// A model the catalog does not know costs nothing, and says so.
	own, err := h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "finetune", PluginName: "openai", Model: "my-finetune",
		BaseUrl: openai.srv.URL + "/v1"})
	require.NoError(t, err)
	require.Equal(t, "none", own.GetVariant().GetEffectivePrices().GetSource())
	res, err = h.TryVariant(ctx, &moosev1.TryVariantRequest{Id: "finetune", WorkOrder: &moosev1.TryWorkOrder{Title: "Add Shout"}})
	require.NoError(t, err)
	require.Zero(t, res.GetCostUsd())

	_, err = h.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "sonnet", PluginName: "anthropic", Model: "claude-sonnet-4-5",
		BaseUrl: anthropic.srv.URL, InputPricePerMtok: 3, OutputPricePerMtok: 15})
	require.NoError(t, err)
	res, err = h.TryVariant(ctx, &moosev1.TryVariantRequest{Id: "sonnet", WorkOrder: &moosev1.TryWorkOrder{Title: "Add Shout"}})
	require.NoError(t, err)
	require.EqualValues(t, 120+1800+6000, res.GetInputTokens())
	require.EqualValues(t, 6000, res.GetCacheReadInputTokens())
	require.EqualValues(t, 1800, res.GetCacheWriteInputTokens())
	require.InDelta(t, (120*3+6000*0.30+1800*3.75+400*15)/1e6, res.GetCostUsd(), 1e-15)
	sent := anthropic.requests()
	require.Len(t, sent, 1)
	require.Equal(t, map[string]any{"type": "ephemeral"}, sent[0]["system"].([]any)[0].(map[string]any)["cache_control"])
}
