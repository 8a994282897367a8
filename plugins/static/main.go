// Command static is the built-in "static" validator: it reads the functions the
// change touched and the functions the work order names (never running them)
// and reports TODO/FIXME/XXX markers, "not implemented" stubs, bodies that only
// return zero values, empty function bodies, debug prints and files the change
// emptied (see static.Scan). It passes when it could read the change; its findings feed the
// completeness score and the refinement prompt.
package main

import (
	"context"
	"os/exec"
	"slices"
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
	// Only the added lines of tracked files count: an old TODO is not the
	// change's fault. New (untracked) files count whole.
	diff, err := exec.CommandContext(ctx, "git", "-C", dir, "diff", "-U0", "--no-color", "--no-ext-diff", "HEAD").Output()
	if err != nil {
		return validate.Refuse(err), nil
	}
	files := static.AddedLines(string(diff))
	var seen []string
	for _, f := range files {
		seen = append(seen, f.Path)
	}
	for _, p := range req.GetChangedFiles() {
		if !slices.Contains(seen, p) {
			files = append(files, static.Whole(p)...)
		}
	}
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
