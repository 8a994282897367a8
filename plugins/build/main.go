// Command build is the built-in "build" validator: the project's build and
// typecheck, run in the sandbox, with compiler errors parsed into file/line
// findings. Presets: Go (go build ./... && go vet ./...) and
// TypeScript/JavaScript (npm run build, tsc --noEmit); a project's own
// build_command and typecheck_command replace the preset, for any language.
package main

import (
	"context"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
	"github.com/moosehq/moose/plugins/internal/validate"
	"github.com/moosehq/moose/plugins/sdk"
)

type build struct{}

func (build) Info() sdk.Info {
	return sdk.Info{Name: "build", Version: "1.0.0", Description: "project build and typecheck in a sandbox", Capabilities: []string{"go", "node", "commands"}}
}

func (build) Validate(ctx context.Context, req *sdk.ValidateRequest) (*sdk.ValidateResponse, error) {
	p := req.GetProject()
	return validate.Validate(ctx, req, validate.Step{
		Commands: []string{p.GetBuildCommand(), p.GetTypecheckCommand()},
		Category: check.CategoryBuildError,
		Field:    "build_command",
		Go:       gocheck.Build,
		Node:     jscheck.Build,
	}), nil
}

func main() { sdk.ServeValidator(build{}) }
