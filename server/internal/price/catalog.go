package price

import (
	"regexp"
	"slices"
	"strings"
)

// Entry is one model's prices in the built-in catalog.
type Entry struct {
	// Model is the name the catalog knows, without a date suffix: the
	// provider's dated snapshots and "-latest" aliases resolve to it.
	Model  string
	Prices Prices
}

// CatalogDate is when the catalog's prices were copied from the providers'
// price lists. Prices change: a variant's own prices override the catalog.
const CatalogDate = "2025-11"

// catalog holds the providers' list prices (standard tier, US dollars per
// million tokens). OpenAI bills no cache writes, so its write price is the
// input price; Anthropic's cache writes are its five-minute cache (1.25x the
// input price), reads 0.1x. Long-context surcharges (Sonnet's prompts over
// 200K tokens) are not modelled.
var catalog = []Entry{
	{"gpt-4o-mini", Prices{Input: 0.15, CacheRead: 0.075, CacheWrite: 0.15, Output: 0.60}},
	{"gpt-4o", Prices{Input: 2.50, CacheRead: 1.25, CacheWrite: 2.50, Output: 10}},
	{"gpt-4.1", Prices{Input: 2, CacheRead: 0.50, CacheWrite: 2, Output: 8}},
	{"gpt-4.1-mini", Prices{Input: 0.40, CacheRead: 0.10, CacheWrite: 0.40, Output: 1.60}},
	{"gpt-4.1-nano", Prices{Input: 0.10, CacheRead: 0.025, CacheWrite: 0.10, Output: 0.40}},
	{"gpt-5", Prices{Input: 1.25, CacheRead: 0.125, CacheWrite: 1.25, Output: 10}},
	{"gpt-5-mini", Prices{Input: 0.25, CacheRead: 0.025, CacheWrite: 0.25, Output: 2}},
	{"gpt-5-nano", Prices{Input: 0.05, CacheRead: 0.005, CacheWrite: 0.05, Output: 0.40}},
	{"o3", Prices{Input: 2, CacheRead: 0.50, CacheWrite: 2, Output: 8}},
	{"o3-mini", Prices{Input: 1.10, CacheRead: 0.55, CacheWrite: 1.10, Output: 4.40}},
	{"o4-mini", Prices{Input: 1.10, CacheRead: 0.275, CacheWrite: 1.10, Output: 4.40}},

	{"claude-opus-4-5", Prices{Input: 5, CacheRead: 0.50, CacheWrite: 6.25, Output: 25}},
	{"claude-opus-4-1", Prices{Input: 15, CacheRead: 1.50, CacheWrite: 18.75, Output: 75}},
	{"claude-opus-4", Prices{Input: 15, CacheRead: 1.50, CacheWrite: 18.75, Output: 75}},
	{"claude-sonnet-4-5", Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}},
	{"claude-sonnet-4", Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}},
	{"claude-3-7-sonnet", Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}},
	{"claude-3-5-sonnet", Prices{Input: 3, CacheRead: 0.30, CacheWrite: 3.75, Output: 15}},
	{"claude-haiku-4-5", Prices{Input: 1, CacheRead: 0.10, CacheWrite: 1.25, Output: 5}},
	{"claude-3-5-haiku", Prices{Input: 0.80, CacheRead: 0.08, CacheWrite: 1, Output: 4}},
	{"claude-3-haiku", Prices{Input: 0.25, CacheRead: 0.03, CacheWrite: 0.30, Output: 1.25}},
}

// OpenFamilies are name prefixes of open-weight models, which Moose expects
// to be served by the operator's own vLLM, Ollama, TGI or llama.cpp server:
// they cost $0 unless a variant gives prices (a hosted provider's, say).
var OpenFamilies = []string{
	"qwen", "codeqwen", "llama", "codellama", "meta-llama", "deepseek-coder", "deepseek-r1-distill",
	"mistral-7b", "mixtral", "codestral-22b", "devstral", "gemma", "codegemma", "phi", "starcoder",
	"granite", "gpt-oss", "olmo", "yi-coder",
}

// dated is a provider's snapshot or alias suffix: -20250514, -2024-07-18, -latest.
var dated = regexp.MustCompile(`-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$`)

// aliases are the providers' other names for a catalog model.
var aliases = map[string]string{"claude-sonnet-4-0": "claude-sonnet-4", "claude-opus-4-0": "claude-opus-4"}

// Lookup returns the catalog's prices for model: its exact name (case,
// a provider prefix such as "anthropic/", and a date or -latest suffix
// aside), or $0 for a model of an open family. ok is false for a model the
// catalog does not know.
func Lookup(model string) (p Prices, ok bool) {
	m := dated.ReplaceAllString(normalize(model), "")
	if a, found := aliases[m]; found {
		m = a
	}
	if i := slices.IndexFunc(catalog, func(e Entry) bool { return e.Model == m }); i >= 0 {
		return catalog[i].Prices, true
	}
	for _, f := range OpenFamilies {
		if strings.HasPrefix(m, f) {
			return Prices{}, true
		}
	}
	return Prices{}, false
}

// Catalog returns the priced entries, in catalog order.
func Catalog() []Entry { return slices.Clone(catalog) }
