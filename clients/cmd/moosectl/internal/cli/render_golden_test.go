package cli

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// The -update flag rewrites testdata/*.golden. It is defined only if no other
// test file of this binary defined it first, so groups can share it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite testdata/*.golden from the current output")
	}
}

func golden(t *testing.T, name string, render func(w *bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, render(&buf))
	path := filepath.Join("testdata", name+".golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.Equal(t, string(want), buf.String())
}

func ts(s string) *timestamppb.Timestamp {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return timestamppb.New(tm)
}

var (
	replayPlugin = &moosev1.Plugin{
		Kind: "proposer", Name: "replay", Version: "1.0.0", Command: "/opt/moose/bin/moose-plugin-replay",
		Path: "/opt/moose/bin/moose-plugin-replay", Sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Builtin: true, State: "ready",
		Pid: 4242, Description: "answers from a recorded cassette file", EditFormats: []string{"whole", "diff", "search_replace"},
		Capabilities: []string{"refinement"}, CreateTime: ts("2026-01-02T03:04:05Z"),
	}
	shouterPlugin = &moosev1.Plugin{
		Kind: "proposer", Name: "shouter", Version: "0.1.0", Command: "moose-plugin-shouter", Args: []string{"--loud", "--fast"},
		Path: "/var/lib/moose/plugins/moose-plugin-shouter", Sha256: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", State: "quarantined",
		Restarts: 5, LastError: "exit status 2\nafter 5 crashes", EnvAllowlist: []string{"SHOUTER_API_KEY", "SHOUTER_ORG"},
		CreateTime: ts("2026-01-03T00:00:00Z"),
	}
	lintPlugin = &moosev1.Plugin{
		Kind: "validator", Name: "lint", Version: "2.0.0-rc.1", Command: "moose-plugin-lint",
		Sha256: "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9", Builtin: true, State: "starting",
		CreateTime: ts("2026-01-03T00:00:01Z"),
	}
	miniVariant = &moosev1.Variant{
		Id: "0193e0c4-2222-7000-8000-000000000001", Name: "mini-whole-v1", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: "https://api.openai.com/v1", SystemPrompt: "You are a careful Go engineer.\nAnswer with whole files.\n",
		PromptTemplate: "", Temperature: 0.2, MaxTokens: 4096, EditFormat: "whole", FewShotCount: 2,
		InputPricePerMtok: 0.15, OutputPricePerMtok: 0.6, Params: map[string]string{"seed": "7", "reasoning_effort": "low"},
		EffectivePrices: &moosev1.Prices{InputPerMtok: 0.15, CacheReadPerMtok: 0.075, CacheWritePerMtok: 0.15, OutputPerMtok: 0.6, Source: "variant"},
		Status:          moosev1.VariantStatus_VARIANT_STATUS_ACTIVE, CreateTime: ts("2026-01-04T10:00:00Z"),
	}
	replayVariant = &moosev1.Variant{
		Id: "0193e0c4-2222-7000-8000-000000000002", Name: "replay-demo", PluginName: "replay", PluginVersion: "1.0.0",
		Model: "replay-demo", BaseUrl: "/srv/cassettes/demo.yaml", EditFormat: "diff",
		Status: moosev1.VariantStatus_VARIANT_STATUS_RETIRED, CreateTime: ts("2026-01-04T09:00:00Z"), RetireTime: ts("2026-01-05T00:00:00Z"),
	}
)

func TestPluginTablesGolden(t *testing.T) {
	t.Parallel()
	golden(t, "plugin_list", func(w *bytes.Buffer) error {
		return writePlugins(w, []*moosev1.Plugin{replayPlugin, shouterPlugin, lintPlugin})
	})
	golden(t, "plugin_list_empty", func(w *bytes.Buffer) error { return writePlugins(w, nil) })
	golden(t, "plugin_get_builtin", func(w *bytes.Buffer) error { return writePlugin(w, replayPlugin) })
	golden(t, "plugin_get_quarantined", func(w *bytes.Buffer) error { return writePlugin(w, shouterPlugin) })
}

func TestVariantTablesGolden(t *testing.T) {
	t.Parallel()
	golden(t, "variant_list", func(w *bytes.Buffer) error {
		return writeVariants(w, []*moosev1.Variant{miniVariant, replayVariant})
	})
	golden(t, "variant_get", func(w *bytes.Buffer) error { return writeVariant(w, miniVariant) })
	golden(t, "variant_get_retired", func(w *bytes.Buffer) error { return writeVariant(w, replayVariant) })
	golden(t, "variant_try_text", func(w *bytes.Buffer) error {
		return writeTryResult(w, &moosev1.TryVariantResponse{
			Text:  "strutil/reverse.go\n```go\npackage strutil\n\nfunc Reverse(s string) string { return s }\n```",
			Model: "gpt-4o-mini", InputTokens: 420, CacheReadInputTokens: 256, OutputTokens: 133, FinishReason: "stop",
			Latency: durationpb.New(1234567 * time.Microsecond), CostUsd: 0.000143,
		})
	})
	golden(t, "variant_try_edits", func(w *bytes.Buffer) error {
		return writeTryResult(w, &moosev1.TryVariantResponse{
			Edits: []*moosev1.TryEdit{
				{Path: "README.md", Content: "# Title\n```sh\nmake\n```\n"},
				{Path: "old.go", Delete: true},
			},
			Model: "shouter", InputTokens: 1, OutputTokens: 2, FinishReason: "length",
			Latency: durationpb.New(850 * time.Microsecond),
		})
	})
}

func TestRoutingTableGolden(t *testing.T) {
	t.Parallel()
	tiers := []*moosev1.RoutingTier{
		{Name: "cheap", MinComplexity: 1, MaxComplexity: 3, VariantId: miniVariant.Id, FallbackVariantId: replayVariant.Id},
		{Name: "mid", MinComplexity: 4, MaxComplexity: 6, VariantId: "0193e0c4-2222-7000-8000-00000000dead"},
		{Name: "strong", MinComplexity: 7, MaxComplexity: 10},
	}
	names := map[string]string{miniVariant.Id: "mini-whole-v1", replayVariant.Id: "replay-demo (retired)"}
	golden(t, "routing_list", func(w *bytes.Buffer) error { return writeTiers(w, tiers, names) })
}
