// Command openai is the built-in proposer for OpenAI models (gpt-4o-mini and
// any other chat model) and for every server that speaks the OpenAI chat
// completions API: vLLM, Ollama, TGI and llama.cpp's server, which is how
// fine-tuned open models are served. README.md documents the variant settings
// and each server's flags.
//
// The API key is read from OPENAI_API_KEY (or the variable named by the
// variant param api_key_env) in the plugin's own environment, which holds
// only what the registration's env allowlist passes; it is never logged.
package main

import (
	"net/http"

	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/internal/provider/openaichat"
	"github.com/moosehq/moose/plugins/sdk"
)

// version changes whenever prompts or behaviour change.
const version = "1.1.0"

func newProposer(lookup func(string) (string, bool), hc *http.Client) *provider.Proposer {
	return &provider.Proposer{
		Meta: sdk.Info{
			Name:         "openai",
			Version:      version,
			Description:  "OpenAI chat completions (OpenAI, vLLM, Ollama, TGI, llama.cpp server); base_url from the variant",
			EditFormats:  []string{"whole", "diff", "search_replace"},
			Capabilities: []string{"refinement"},
			Params:       openaichat.Params,
		},
		LLM: &openaichat.Client{LookupEnv: lookup, HTTPClient: hc},
		Log: sdk.Logger(),
	}
}

func main() { sdk.ServeProposer(newProposer(nil, nil)) }
