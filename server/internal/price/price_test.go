package price_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/price"
)

func TestCost(t *testing.T) {
	t.Parallel()
	mini := price.Prices{Input: 0.15, CacheRead: 0.075, Output: 0.60}
	sonnet := price.Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}
	tests := []struct {
		name   string
		prices price.Prices
		usage  price.Usage
		want   float64
	}{
		// The case: 2,048 of 3,000 prompt tokens cached.
		{"openai cached prefix", mini, price.Usage{Input: 3000, CacheRead: 2048, Output: 200},
			(952*0.15 + 2048*0.075 + 200*0.60) / 1e6},
		{"no cache", mini, price.Usage{Input: 3000, Output: 200}, (3000*0.15 + 200*0.60) / 1e6},
		{"anthropic read and write", sonnet, price.Usage{Input: 120 + 1800 + 6000, CacheRead: 6000, CacheWrite: 1800, Output: 400},
			(120*3 + 6000*0.30 + 1800*3.75 + 400*15) / 1e6},
		{"more cache than input is never negative", sonnet, price.Usage{Input: 10, CacheRead: 100},
			100 * 0.30 / 1e6},
		{"free", price.Prices{}, price.Usage{Input: 1e6, CacheRead: 5e5, Output: 1e6}, 0},
	}
	for _, tc := range tests {
		require.InDelta(t, tc.want, tc.prices.Cost(tc.usage), 1e-15, tc.name)
	}
	require.Less(t, mini.Cost(price.Usage{Input: 3000, CacheRead: 2048, Output: 200}),
		mini.Cost(price.Usage{Input: 3000, Output: 200}), "cached tokens cost less than fresh ones")
}

func TestCacheDefaults(t *testing.T) {
	t.Parallel()
	rates := func(model string, read, write float64) {
		t.Helper()
		r := price.CacheRatesFor(model)
		require.InDelta(t, read, r.Read, 1e-12, model)
		require.InDelta(t, write, r.Write, 1e-12, model)
	}
	rates("claude-3-5-haiku-latest", 0.1, 1.25)
	rates("anthropic/Claude-Sonnet-4", 0.1, 1.25)
	rates("claude-next-preview", 0.1, 1.25) // not in the catalog: Anthropic's default
	rates("gpt-4o-mini", 0.5, 1)
	rates("my-finetune", 0.5, 1) // not in the catalog: the default

	p := price.Prices{Input: 3, Output: 15}.WithCacheDefaults(price.CacheRatesFor("claude-sonnet-4-5"))
	require.InDelta(t, 0.3, p.CacheRead, 1e-12)
	require.InDelta(t, 3.75, p.CacheWrite, 1e-12)
	given := price.Prices{Input: 3, CacheRead: 0.2, Output: 15}.WithCacheDefaults(price.CacheRates{Read: 0.1, Write: 1.25})
	require.InDelta(t, 0.2, given.CacheRead, 1e-12, "a given cache price stays")
}

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model  string
		want   price.Prices
		wantOK bool
	}{
		{"gpt-4o-mini", price.Prices{Input: 0.15, CacheRead: 0.075, CacheWrite: 0.15, Output: 0.60}, true},
		{"gpt-4o-mini-2024-07-18", price.Prices{Input: 0.15, CacheRead: 0.075, CacheWrite: 0.15, Output: 0.60}, true},
		{"gpt-4o", price.Prices{Input: 2.50, CacheRead: 1.25, CacheWrite: 2.50, Output: 10}, true},
		{"openai/GPT-4o-2024-08-06", price.Prices{Input: 2.50, CacheRead: 1.25, CacheWrite: 2.50, Output: 10}, true},
		{"claude-3-5-haiku-latest", price.Prices{Input: 0.80, CacheRead: 0.08, CacheWrite: 1, Output: 4}, true},
		{"claude-sonnet-4-20250514", price.Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}, true},
		{"claude-sonnet-4-0", price.Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}, true},
		{"claude-sonnet-4-5-20250929", price.Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}, true},
		{"claude-haiku-4-5", price.Prices{Input: 1, CacheRead: 0.10, CacheWrite: 1.25, Output: 5}, true},
		{"Qwen/Qwen2.5-Coder-32B-Instruct", price.Prices{}, true},
		{"qwen2.5-coder:7b", price.Prices{}, true},
		{"meta-llama/Llama-3.1-8B-Instruct", price.Prices{}, true},
		{"deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct", price.Prices{}, true},
		{"gpt-oss-20b", price.Prices{}, true},
		{"my-finetune", price.Prices{}, false},
		{"gpt-4o-mini-tts", price.Prices{}, false},
	}
	for _, tc := range tests {
		got, ok := price.Lookup(tc.model)
		require.Equal(t, tc.wantOK, ok, tc.model)
		require.Equal(t, tc.want, got, tc.model)
	}
	for _, e := range price.Catalog() {
		require.Positive(t, e.Prices.Input, e.Model)
		require.Less(t, e.Prices.CacheRead, e.Prices.Input, "%s: a cache read is cheaper than a fresh token", e.Model)
		require.GreaterOrEqual(t, e.Prices.CacheWrite, e.Prices.Input, e.Model)
	}
	require.InDelta(t, 0.25, price.CacheRatesFor("gpt-4.1").Read, 1e-12, "the catalog's ratio for a model it knows")
}
