// Package price turns the tokens of one model call into US dollars.
//
// A call's prompt tokens come in three kinds, each with its own price:
// tokens the provider processed afresh, tokens it read from its prompt cache
// (Anthropic's cache_read_input_tokens, OpenAI's cached_tokens) and tokens it
// wrote to that cache (Anthropic's cache_creation_input_tokens). The plugin
// contract's input_tokens counts all three; the cache counts are the parts
// of it that are not billed at the input price. Pricing a cached token at the
// full input price overstates a cached call's cost several times over: 2,048
// of 3,000 gpt-4o-mini prompt tokens cached cost 0.5x, a Claude cache read
// 0.1x.
//
// Where a price list gives no cache prices they derive from the input price
// ([CacheRatesFor]): by the catalog's ratio for a model it prices (gpt-4.1
// reads at 0.25x, gpt-5 at 0.1x), else by the provider's published default:
// Claude models read at 0.1x and write (five-minute cache) at 1.25x; other
// models read at 0.5x (OpenAI's rate for gpt-4o and gpt-4o-mini) and write at
// 1x (OpenAI bills no cache writes).
//
// # The catalog
//
// A variant that gives no prices is priced by the built-in catalog
// ([Lookup]): list prices of the OpenAI and Anthropic models Moose names,
// matched on the model name without its date or "-latest" suffix, and $0 for
// open-weight families ([OpenFamilies]), which Moose expects on the
// operator's own servers. A model the catalog does not know costs $0, and the
// variant says so (its price source is "none").
package price

import "strings"

// Prices are US dollars per million tokens.
type Prices struct {
	Input      float64
	CacheRead  float64
	CacheWrite float64
	Output     float64
}

// Usage is what one call used.
type Usage struct {
	// Input counts every prompt token, cache reads and writes included.
	Input int64
	// CacheRead and CacheWrite are the parts of Input read from and written
	// to the provider's prompt cache.
	CacheRead  int64
	CacheWrite int64
	Output     int64
}

// Cost is the price of u in US dollars. Prompt tokens neither read from nor
// written to the cache are charged at the input price. A plugin that reports
// more cache tokens than input tokens (against the contract) is charged for
// the cache tokens it reports, never for a negative remainder.
func (p Prices) Cost(u Usage) float64 {
	fresh := max(u.Input-u.CacheRead-u.CacheWrite, 0)
	return (float64(fresh)*p.Input + float64(u.CacheRead)*p.CacheRead +
		float64(u.CacheWrite)*p.CacheWrite + float64(u.Output)*p.Output) / 1e6
}

// CacheRates are cache prices as multiples of the input price.
type CacheRates struct {
	Read, Write float64
}

// CacheRatesFor is the ratio of cache to input prices for model: the
// catalog's, when it prices the model, else the provider's published default
// for the model's family.
func CacheRatesFor(model string) CacheRates {
	if p, ok := Lookup(model); ok && p.Input > 0 {
		return CacheRates{Read: p.CacheRead / p.Input, Write: p.CacheWrite / p.Input}
	}
	if strings.HasPrefix(normalize(model), "claude") {
		return CacheRates{Read: 0.1, Write: 1.25}
	}
	return CacheRates{Read: 0.5, Write: 1}
}

// WithCacheDefaults fills CacheRead and CacheWrite that are 0 from the input
// price and rates.
func (p Prices) WithCacheDefaults(r CacheRates) Prices {
	if p.CacheRead == 0 {
		p.CacheRead = p.Input * r.Read
	}
	if p.CacheWrite == 0 {
		p.CacheWrite = p.Input * r.Write
	}
	return p
}

// normalize lowercases a model name and drops a provider or organisation
// prefix ("anthropic/claude-3-5-haiku", "Qwen/Qwen2.5-Coder-7B-Instruct").
func normalize(model string) string {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	return m
}
