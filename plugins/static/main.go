// Command static is the built-in "static" validator: it reads the functions the
// change touched and the functions the work order names (never running them)
// and reports TODO/FIXME/XXX markers, "not implemented" stubs, bodies that only
// return zero values, empty function bodies, debug prints and files the change
// emptied (see static.Scan). It passes when it could read the change; its findings feed the
// completeness score and the refinement prompt.
package main

import (
	"context"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check/static"
	"github.com/moosehq/moose/plugins/internal/validate"
	"github.com/moosehq/moose/plugins/sdk"
)

type staticCheck struct{}

func (staticCheck) Info() sdk.Info {
	return sdk.Info{Name: "static", Version: "1.0.0", Description: "stubs, TODOs, empty bodies, debug prints in the changed lines"}
}

func (staticCheck) Validate(ctx context.Context, req *sdk.ValidateRequest) (*sdk.ValidateResponse, error) {
	dir := req.GetWorktreePath()
	// Changed lines of tracked files (widened to their functions by Scan);
	// new files count whole. The host sends the diff: the worktree is a view
	// without .git, and git must never run where generated code may have
	// written.
	files := static.Changes(req.GetDiff(), req.GetChangedFiles())
	wo := req.GetWorkOrder()
	text := strings.Join(append([]string{wo.GetTitle(), wo.GetDescription()}, wo.GetAcceptanceCriteria()...), "\n")
	findings, err := static.Scan(dir, files, text)
	if err != nil {
		return validate.Refuse(err), nil
	}
	out := &sdk.ValidateResponse{Passed: true}
	for _, f := range findings {
		out.Findings = append(out.Findings, validate.Finding(f))
	}
	return out, nil
}

func main() { sdk.ServeValidator(staticCheck{}) }
