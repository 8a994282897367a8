// Command openai-architect is the built-in architect backed by the OpenAI chat
// completions API (or any compatible server, base_url from the request's
// config): it splits a spec document into work orders. Key handling is the
// openai proposer's: OPENAI_API_KEY or the param api_key_env.
package main

import (
	"net/http"

	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/internal/provider/openaichat"
	"github.com/moosehq/moose/plugins/sdk"
)

const version = "1.0.0"

func newArchitect(lookup func(string) (string, bool), hc *http.Client) *provider.Architect {
	return &provider.Architect{
		Meta: sdk.Info{Name: "openai-architect", Version: version, Description: "decomposes specs into work orders with an OpenAI-compatible model"},
		LLM:  &openaichat.Client{LookupEnv: lookup, HTTPClient: hc},
		Log:  sdk.Logger(),
	}
}

func main() { sdk.ServeArchitect(newArchitect(nil, nil)) }
