// Command build is the built-in "build" validator: the project's own build and
// typecheck (Go: go build ./... && go vet ./...; TypeScript/JavaScript: npm run
// build and tsc --noEmit), run in the sandbox, with compiler errors parsed into
// file/line findings.
package main

import (
	"context"
	"fmt"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
	"github.com/moosehq/moose/plugins/internal/validate"
	"github.com/moosehq/moose/plugins/sdk"
)

type build struct{}

func (build) Info() sdk.Info {
	return sdk.Info{Name: "build", Version: "1.0.0", Description: "project build and typecheck in a sandbox", Capabilities: []string{"go", "node"}}
}

func (build) Validate(ctx context.Context, req *sdk.ValidateRequest) (*sdk.ValidateResponse, error) {
	runner, err := validate.Runner(ctx, req)
	if err != nil {
		return validate.Refuse(err), nil
	}
	// The project's own commands win over the preset, for any language.
	if p := req.GetProject(); p.GetBuildCommand() != "" || p.GetTypecheckCommand() != "" {
		rep, err := validate.RunCommands(ctx, req, runner, check.CategoryBuildError, p.GetBuildCommand(), p.GetTypecheckCommand())
		if err != nil {
			return validate.Refuse(err), nil
		}
		return validate.Response(rep, int(req.GetMaxLogBytes())), nil
	}
	lang, err := validate.Language(req)
	if err != nil {
		return validate.Refuse(fmt.Errorf("%w: no preset for this language; set the project's build_command", err)), nil
	}
	var rep check.Report
	switch lang {
	case check.LangGo:
		rep, err = gocheck.Build(ctx, req.GetWorktreePath(), gocheck.Options{Runner: runner, Changed: req.GetChangedFiles()})
	default:
		rep, err = jscheck.Build(ctx, req.GetWorktreePath(), jscheck.Options{Runner: runner, Changed: req.GetChangedFiles()})
	}
	if err != nil {
		return validate.Refuse(err), nil
	}
	return validate.Response(rep, int(req.GetMaxLogBytes())), nil
}

func main() { sdk.ServeValidator(build{}) }
