// Command shouter is the plugin of the SDK guide (plugins/sdk/README.md),
// written as someone outside the project would: it imports only plugins/sdk.
// It proposes a NOTES.md whose heading is the work order's title, shouted.
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/moosehq/moose/plugins/sdk"
)

type shouter struct{}

func (shouter) Info() sdk.Info {
	return sdk.Info{Name: "shouter", Version: "0.1.0", EditFormats: []string{"whole"}}
}

func (shouter) Propose(ctx context.Context, req *sdk.ProposeRequest) (*sdk.ProposeResponse, error) {
	wo := req.GetWorkOrder()
	sdk.Logger().Info("proposing", "title", wo.GetTitle(), "model", req.GetVariant().GetModel())
	text := fmt.Sprintf("NOTES.md\n```markdown\n# %s\n```\n", strings.ToUpper(wo.GetTitle()))
	return &sdk.ProposeResponse{Text: text, Model: req.GetVariant().GetModel(), InputTokens: 10, OutputTokens: 5, FinishReason: "stop"}, nil
}

func main() { sdk.ServeProposer(shouter{}) }
