// Command replay is the built-in replay proposer: it answers work orders from a
// recorded cassette instead of a model, so demos, tests and benchmarks run the
// whole pipeline offline, deterministically and for free. It is also the
// reference plugin: everything a proposer needs is in this one file plus
// cassette.go.
//
// # Cassette
//
// The cassette is a YAML (or JSON) file named by the variant's base_url, or by
// its param "cassette" when base_url is empty. Relative paths resolve against
// moosed's working directory.
//
//	model: replay-demo            # default model name reported
//	entries:
//	  - key: Add a Reverse function   # work order metadata "replay_key", else its title
//	    cycle: 1                      # 1 = first proposal, 2.. = refinements; 0 or absent = any cycle
//	    input_tokens: 420
//	    output_tokens: 133
//	    model: gpt-4o-mini            # optional, overrides the default
//	    finish_reason: stop           # optional, default "stop"
//	    text: |
//	      strutil/reverse.go
//	      ```go
//	      package strutil
//	      ...
//	      ```
//
// The text is returned verbatim, so record it in an edit format the host's
// extractor parses: whole files as a path line followed by a fenced block,
// unified diffs, or search/replace blocks. An unknown key or cycle is an error
// naming the cassette and the keys it holds.
package main

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/sdk"
)

// version changes whenever the cassette format or answers change meaning.
const version = "1.0.0"

type replay struct {
	cassettes *cache
}

func (replay) Info() sdk.Info {
	return sdk.Info{
		Name:         "replay",
		Version:      version,
		Description:  "answers from a recorded cassette file (variant base_url or param cassette)",
		EditFormats:  []string{"whole", "diff", "search_replace"},
		Capabilities: []string{"refinement"},
	}
}

func (r replay) Propose(_ context.Context, req *sdk.ProposeRequest) (*sdk.ProposeResponse, error) {
	path := req.GetVariant().GetBaseUrl()
	if path == "" {
		path = req.GetVariant().GetParams()["cassette"]
	}
	if path == "" {
		return nil, status.Error(codes.InvalidArgument, "replay: the variant names no cassette (set base_url or param cassette)")
	}
	c, err := r.cassettes.load(path)
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "replay: %v", err)
	}
	wo := req.GetWorkOrder()
	key := wo.GetMetadata()["replay_key"]
	if key == "" {
		key = wo.GetTitle()
	}
	cycle := req.GetCycle()
	if cycle == 0 {
		cycle = 1
	}
	e, err := c.find(key, cycle)
	if err != nil {
		return nil, status.Errorf(codes.NotFound, "replay: cassette %s: %v", path, err)
	}
	return &sdk.ProposeResponse{
		Text:         e.Text,
		Model:        firstNonEmpty(e.Model, c.Model, "replay"),
		InputTokens:  e.InputTokens,
		OutputTokens: e.OutputTokens,
		FinishReason: firstNonEmpty(e.FinishReason, "stop"),
	}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func main() {
	sdk.ServeProposer(replay{cassettes: newCache()})
}
