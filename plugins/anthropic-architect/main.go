// Command anthropic-architect is the built-in architect backed by Claude
// (Anthropic messages API): it splits a spec document into work orders. Key
// handling is the anthropic proposer's: ANTHROPIC_API_KEY or the param api_key_env.
package main

import (
	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/internal/provider/claude"
	"github.com/moosehq/moose/plugins/sdk"
)

const version = "1.0.0"

func main() {
	sdk.ServeArchitect(&provider.Architect{
		Meta: sdk.Info{Name: "anthropic-architect", Version: version, Description: "decomposes specs into work orders with Claude"},
		LLM:  &claude.Client{},
		Log:  sdk.Logger(),
	})
}
