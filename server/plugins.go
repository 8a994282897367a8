package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/metrics"
	"github.com/moosehq/moose/server/internal/pipeline"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/variant"
)

// proposerAdapter lets the pipeline call a variant's proposer plugin: it looks
// up the variant, converts to the plugin contract, and prices the answer.
type proposerAdapter struct {
	host     *pluginhost.Host
	variants *variant.Service
	metrics  *metrics.Metrics
}

func (a proposerAdapter) Propose(ctx context.Context, variantID uuid.UUID, req pipeline.ProposeRequest) (pipeline.ProposeResponse, error) {
	v, err := a.variants.Get(ctx, variantID.String())
	if err != nil {
		return pipeline.ProposeResponse{}, err
	}
	pc := &pluginv1.ProjectContext{FileTree: req.Context.FileTree}
	for _, f := range req.Context.Files {
		pc.Files = append(pc.Files, &pluginv1.File{Path: f.Path, Content: f.Content})
	}
	pbreq := &pluginv1.ProposeRequest{
		WorkOrder:        workOrderToPlugin(req.WorkOrder),
		Project:          pc,
		EditFormat:       v.EditFormat,
		Variant:          v.Config(),
		Cycle:            int32(req.Cycle),
		PreviousProposal: req.PreviousProposal,
		Feedback:         req.Feedback,
	}
	for _, ex := range req.Examples {
		pbreq.Examples = append(pbreq.Examples, &pluginv1.Example{WorkOrder: workOrderToPlugin(ex.WorkOrder), Proposal: ex.Proposal})
	}
	for _, f := range req.Findings {
		pbreq.Findings = append(pbreq.Findings, &pluginv1.Finding{File: f.File, Line: int32(f.Line), Column: int32(f.Column),
			Category: f.Category, Severity: severityToPlugin(f.Severity), Message: f.Message, Source: f.Source})
	}
	start := time.Now()
	resp, err := a.host.Propose(ctx, v.PluginName, v.PluginVersion, pbreq)
	a.metrics.PluginCall(v.PluginName, "Propose", status.Code(err).String(), time.Since(start))
	if err != nil {
		return pipeline.ProposeResponse{}, err
	}
	usage := variant.UsageOf(resp)
	cost := v.Cost(usage)
	a.metrics.Proposal(v.Name, usage, cost)
	text := resp.GetText()
	if strings.TrimSpace(text) == "" && len(resp.GetEdits()) > 0 {
		text = renderEdits(resp.GetEdits())
	}
	return pipeline.ProposeResponse{
		Text:                  text,
		Model:                 resp.GetModel(),
		InputTokens:           resp.GetInputTokens(),
		CacheReadInputTokens:  resp.GetCacheReadInputTokens(),
		CacheWriteInputTokens: resp.GetCacheWriteInputTokens(),
		OutputTokens:          resp.GetOutputTokens(),
		FinishReason:          resp.GetFinishReason(),
		CostUSD:               cost,
		PromptHash:            resp.GetPromptHash(),
	}, nil
}

// renderEdits turns structured edits into whole-file blocks so that one
// extractor, with its path checks, handles every proposal.
func renderEdits(edits []*pluginv1.Edit) string {
	var b strings.Builder
	for _, e := range edits {
		fence := "```"
		for strings.Contains(e.GetContent(), fence) {
			fence += "`"
		}
		if e.GetDelete() {
			fmt.Fprintf(&b, "--- a/%s\n+++ /dev/null\n", e.GetPath())
			continue
		}
		fmt.Fprintf(&b, "%s\n%s\n%s", e.GetPath(), fence, e.GetContent())
		if !strings.HasSuffix(e.GetContent(), "\n") {
			b.WriteString("\n")
		}
		b.WriteString(fence + "\n\n")
	}
	return b.String()
}

// validatorAdapter runs a built-in validator plugin by name.
type validatorAdapter struct {
	host    *pluginhost.Host
	metrics *metrics.Metrics
}

func (a validatorAdapter) Validate(ctx context.Context, name string, req pipeline.ValidateRequest) (pipeline.Report, error) {
	pbreq := &pluginv1.ValidateRequest{
		WorktreePath: req.Dir,
		ChangedFiles: req.ChangedFiles,
		WorkOrder:    workOrderToPlugin(req.WorkOrder),
		Project: &pluginv1.ProjectCommands{Language: req.Project.Language, Preset: req.Project.Preset,
			BuildCommand: req.Project.BuildCommand, TestCommand: req.Project.TestCommand, TypecheckCommand: req.Project.TypecheckCommand},
		Timeout:     durationpb.New(req.Timeout),
		MaxLogBytes: 64 << 10,
		TempPath:    req.TempDir,
		CachePath:   req.CacheDir,
		Diff:        req.Diff,
		Limits: &pluginv1.SandboxLimits{WriteBytes: req.Limits.WriteBytes, TmpBytes: req.Limits.TmpBytes,
			CpuTime: durationpb.New(req.Limits.CPUTime), OpenFiles: int32(req.Limits.OpenFiles),
			MemoryBytes: req.Limits.MemoryBytes, MaxProcs: int32(req.Limits.MaxProcs)},
		Mutation: &pluginv1.MutationBudget{Disabled: req.Mutation.Disabled, MaxMutants: int32(req.Mutation.MaxMutants)},
		Repeats:  int32(req.Repeats),
	}
	if req.BuildTimeout > 0 {
		pbreq.BuildTimeout = durationpb.New(req.BuildTimeout)
	}
	if req.Mutation.Time > 0 {
		pbreq.Mutation.TimeBudget = durationpb.New(req.Mutation.Time)
	}
	start := time.Now()
	resp, err := a.host.Validate(ctx, name, "", pbreq)
	a.metrics.PluginCall(name, "Validate", status.Code(err).String(), time.Since(start))
	if err != nil {
		a.metrics.Validation(name, "error", time.Since(start), nil)
		return pipeline.Report{}, err
	}
	defer func() { a.metrics.Validation(name, validationOutcome(resp), time.Since(start), limitsHit(resp)) }()
	r := pipeline.Report{
		Validator: name, Passed: resp.GetPassed(), Skipped: resp.GetSkipped(), Error: resp.GetError(),
		Coverage: -1, TestsAdded: resp.GetTestsAdded(), Log: resp.GetLogs(), Repeats: int(resp.GetRepeats()),
	}
	if resp.GetSkipped() && r.Error == "" {
		r.Error = resp.GetSkipReason()
	}
	if resp.GetCoverageMeasured() {
		r.Coverage = resp.GetCoveragePercent()
	}
	if t := resp.GetTests(); t != nil {
		r.TestsTotal, r.TestsPassed, r.TestsFailed, r.TestsSkipped = int(t.GetTotal()), int(t.GetPassed()), int(t.GetFailed()), int(t.GetSkipped())
	}
	for _, t := range resp.GetTestResults() {
		res := acceptance.Result{Suite: t.GetSuite(), Name: t.GetName(), Status: testStatusName(t.GetStatus())}
		if res.Status == acceptance.Failed {
			res.Message = firstLines(t.GetOutput(), 8)
		}
		r.Results = append(r.Results, res)
	}
	for _, f := range resp.GetFindings() {
		r.Findings = append(r.Findings, pipeline.Finding{Source: name, File: f.GetFile(), Line: int(f.GetLine()), Column: int(f.GetColumn()),
			Category: f.GetCategory(), Severity: severityFromPlugin(f.GetSeverity()), Message: f.GetMessage()})
	}
	if m := resp.GetMutation(); m != nil {
		r.Mutation = &pipeline.Mutation{Measured: m.GetMeasured(), Reason: m.GetNotMeasuredReason(), Run: int(m.GetMutantsRun()),
			Killed: int(m.GetMutantsKilled()), NotViable: int(m.GetMutantsNotViable()), Exhausted: m.GetBudgetExhausted()}
		for _, f := range m.GetFunctions() {
			r.Mutation.Functions = append(r.Mutation.Functions, pipeline.MutatedFunction{File: f.GetFile(), Name: f.GetName(),
				Line: int(f.GetLine()), Reached: f.GetReached(), GateMeasured: f.GetGateMeasured(), GateKilled: f.GetGateKilled()})
		}
	}
	for _, s := range resp.GetScores() {
		r.Contributions = append(r.Contributions, pipeline.Contribution{Dimension: s.GetDimension(), Score: s.GetScore(), Weight: s.GetWeight(), Reasons: s.GetReasons()})
	}
	return r, nil
}

func workOrderToPlugin(w pipeline.WorkOrderInfo) *pluginv1.WorkOrder {
	return &pluginv1.WorkOrder{Id: w.ID, Title: w.Title, Description: w.Description,
		AcceptanceCriteria: w.AcceptanceCriteria, Complexity: int32(w.Complexity), Metadata: w.Metadata}
}

func severityToPlugin(s string) pluginv1.Severity {
	switch s {
	case "error":
		return pluginv1.Severity_SEVERITY_ERROR
	case "warning":
		return pluginv1.Severity_SEVERITY_WARNING
	case "info":
		return pluginv1.Severity_SEVERITY_INFO
	}
	return pluginv1.Severity_SEVERITY_UNSPECIFIED
}

func severityFromPlugin(s pluginv1.Severity) string {
	switch s {
	case pluginv1.Severity_SEVERITY_ERROR:
		return "error"
	case pluginv1.Severity_SEVERITY_WARNING:
		return "warning"
	case pluginv1.Severity_SEVERITY_INFO:
		return "info"
	}
	return ""
}

func validationOutcome(r *pluginv1.ValidateResponse) string {
	switch {
	case r.GetSkipped():
		return "skipped"
	case r.GetError() != "":
		return "error"
	case r.GetPassed():
		return "passed"
	}
	return "failed"
}

// sandboxLimits are the finding categories that say generated code ran into
// a limit of the sandbox.
var sandboxLimits = map[string]bool{"cpu_limit": true, "disk_quota": true, "out_of_memory": true, "timeout": true}

func limitsHit(r *pluginv1.ValidateResponse) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range r.GetFindings() {
		if c := f.GetCategory(); sandboxLimits[c] && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func testStatusName(s pluginv1.TestStatus) string {
	switch s {
	case pluginv1.TestStatus_TEST_STATUS_PASSED:
		return acceptance.Passed
	case pluginv1.TestStatus_TEST_STATUS_FAILED:
		return acceptance.Failed
	}
	return acceptance.Skipped
}

// firstLines keeps the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
