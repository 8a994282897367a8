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
	require.Equal(t, price.CacheRates{Read: 0.1, Write: 1.25}, price.CacheRatesFor("claude-3-5-haiku-latest"))
	require.Equal(t, price.CacheRates{Read: 0.1, Write: 1.25}, price.CacheRatesFor("anthropic/Claude-Sonnet-4"))
	require.Equal(t, price.CacheRates{Read: 0.5, Write: 1}, price.CacheRatesFor("gpt-4o-mini"))

	p := price.Prices{Input: 3, Output: 15}.WithCacheDefaults(price.CacheRatesFor("claude-sonnet-4-5"))
	require.InDelta(t, 0.3, p.CacheRead, 1e-12)
	require.InDelta(t, 3.75, p.CacheWrite, 1e-12)
	given := price.Prices{Input: 3, CacheRead: 0.2, Output: 15}.WithCacheDefaults(price.CacheRates{Read: 0.1, Write: 1.25})
	require.InDelta(t, 0.2, given.CacheRead, 1e-12, "a given cache price stays")
}
