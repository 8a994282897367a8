// Package echo is the proposer the plugin benchmark measures: it answers at
// once, so the benchmark sees the cost of the plugin boundary and nothing else.
package echo

import (
	"context"

	"github.com/moosehq/moose/plugins/sdk"
)

// Proposer echoes the work order title.
type Proposer struct{}

// Info implements sdk.Proposer.
func (Proposer) Info() sdk.Info { return sdk.Info{Name: "echo", Version: "1.0.0"} }

// Propose implements sdk.Proposer.
func (Proposer) Propose(_ context.Context, req *sdk.ProposeRequest) (*sdk.ProposeResponse, error) {
	return &sdk.ProposeResponse{Text: req.GetWorkOrder().GetTitle(), Model: "echo", InputTokens: 1, OutputTokens: 1}, nil
}
