// Command test is the built-in "test" validator: the project's tests, run in
// the sandbox: pass/fail per test, coverage of the code the change touched,
// whether the change added or changed tests, and test strength: after a
// passing run, mutants of the changed functions run against the tests that
// reach them (package mutate). Presets: Go (go test -json
// with coverage) and TypeScript/JavaScript (vitest or jest with JSON and
// coverage reporters); a project's own test_command replaces the preset, for
// any language.
package main

import (
	"context"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
	"github.com/moosehq/moose/plugins/internal/validate"
	"github.com/moosehq/moose/plugins/sdk"
)

type tests struct{}

func (tests) Info() sdk.Info {
	return sdk.Info{Name: "test", Version: "1.0.0", Description: "project tests with coverage in a sandbox", Capabilities: []string{"go", "node", "commands", "coverage"}}
}

func (tests) Validate(ctx context.Context, req *sdk.ValidateRequest) (*sdk.ValidateResponse, error) {
	return validate.Validate(ctx, req, validate.Step{
		Commands: []string{req.GetProject().GetTestCommand()},
		Category: check.CategoryTestFailure,
		Field:    "test_command",
		Go:       gocheck.Test,
		Node:     jscheck.Test,
		Mutation: true,
	}), nil
}

func main() { sdk.ServeValidator(tests{}) }
