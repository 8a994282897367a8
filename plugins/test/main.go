// Command test is the built-in "test" validator: the project's tests (Go: go
// test -json with coverage; TypeScript/JavaScript: vitest or jest with JSON and
// coverage reporters), run in the sandbox: pass/fail per test, coverage of the
// code the change touched, and whether the change added or changed tests.
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

type tests struct{}

func (tests) Info() sdk.Info {
	return sdk.Info{Name: "test", Version: "1.0.0", Description: "project tests with coverage in a sandbox", Capabilities: []string{"go", "node", "coverage"}}
}

func (tests) Validate(ctx context.Context, req *sdk.ValidateRequest) (*sdk.ValidateResponse, error) {
	runner, err := validate.Runner(ctx, req)
	if err != nil {
		return validate.Refuse(err), nil
	}
	// The project's own test command wins over the preset, for any language.
	if c := req.GetProject().GetTestCommand(); c != "" {
		rep, err := validate.RunCommands(ctx, req, runner, check.CategoryTestFailure, c)
		if err != nil {
			return validate.Refuse(err), nil
		}
		return validate.Response(rep, int(req.GetMaxLogBytes())), nil
	}
	lang, err := validate.Language(req)
	if err != nil {
		return validate.Refuse(fmt.Errorf("%w: no preset for this language; set the project's test_command", err)), nil
	}
	var rep check.Report
	switch lang {
	case check.LangGo:
		rep, err = gocheck.Test(ctx, req.GetWorktreePath(), gocheck.Options{Runner: runner, Changed: req.GetChangedFiles()})
	default:
		rep, err = jscheck.Test(ctx, req.GetWorktreePath(), jscheck.Options{Runner: runner, Changed: req.GetChangedFiles()})
	}
	if err != nil {
		return validate.Refuse(err), nil
	}
	rep.TestsChanged = rep.TestsChanged || check.TouchesTests(req.GetChangedFiles())
	return validate.Response(rep, int(req.GetMaxLogBytes())), nil
}

func main() { sdk.ServeValidator(tests{}) }
