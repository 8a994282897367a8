// Command anthropic is the built-in proposer for Anthropic's Claude models,
// over the messages API. The API key is read from ANTHROPIC_API_KEY (or the
// variable named by the variant param api_key_env) in the plugin's own
// environment, which holds only what the registration's env allowlist
// passes; it is never logged. See README.md for the variant settings.
package main

import (
	"net/http"

	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/internal/provider/claude"
	"github.com/moosehq/moose/plugins/sdk"
)

// version changes whenever prompts or behaviour change.
const version = "1.1.0"

func newProposer(lookup func(string) (string, bool), hc *http.Client) *provider.Proposer {
	return &provider.Proposer{
		Meta: sdk.Info{
			Name:         "anthropic",
			Version:      version,
			Description:  "Anthropic messages API (Claude models)",
			EditFormats:  []string{"whole", "diff", "search_replace"},
			Capabilities: []string{"refinement"},
			Params:       claude.Params,
		},
		LLM: &claude.Client{LookupEnv: lookup, HTTPClient: hc},
		Log: sdk.Logger(),
	}
}

func main() { sdk.ServeProposer(newProposer(nil, nil)) }
