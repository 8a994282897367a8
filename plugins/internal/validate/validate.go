// Package validate is what the built-in validator plugins share: turning a
// validation request into a sandboxed runner and a check report into the
// plugin contract's response.
package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/custom"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
	"github.com/moosehq/moose/plugins/internal/check/static"
	"github.com/moosehq/moose/plugins/internal/sandbox"
	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// EnvUnsandboxed is the variable an operator sets (through the plugin's
// registration) to run validators without bubblewrap. Without it, a missing
// sandbox makes validation refuse to run generated code.
const EnvUnsandboxed = "MOOSE_UNSANDBOXED"

// Defaults for limits the request leaves unset.
const (
	// DefaultCPUTime is the CPU time one process may use: a spinning test is
	// stopped here rather than at the wall-clock limit.
	DefaultCPUTime = 5 * time.Minute
	// DefaultWriteBytes is the largest file a command may write.
	DefaultWriteBytes = 1 << 30
)

// GoCache returns the Go build cache for a request: the project's own under
// the host's cache_path, or, without one, a private cache that cleanup
// deletes. Never a cache other trust domains write.
func GoCache(req *sdk.ValidateRequest) (dir string, cleanup func(), err error) {
	if p := req.GetCachePath(); p != "" {
		dir = filepath.Join(p, "go-build")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("create go build cache: %w", err)
		}
		return dir, func() {}, nil
	}
	dir, err = os.MkdirTemp("", "moose-go-build-")
	if err != nil {
		return "", nil, fmt.Errorf("create private go build cache: %w", err)
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// Language returns the normalised language of the request's project.
func Language(req *sdk.ValidateRequest) (string, error) {
	p := req.GetProject()
	if p.GetPreset() != "" {
		if l, err := check.NormalizeLang(p.GetPreset()); err == nil {
			return l, nil
		}
	}
	return check.NormalizeLang(p.GetLanguage())
}

// Runner builds the sandboxed runner for a request, or explains why code must
// not run at all.
func Runner(ctx context.Context, req *sdk.ValidateRequest) (check.Runner, error) {
	r := check.Runner{Timeout: 10 * time.Minute, MemoryBytes: 4 << 30, OutputLimit: 1 << 20,
		CPUTime: DefaultCPUTime, FileSizeBytes: DefaultWriteBytes, TmpDir: req.GetTempPath()}
	if d := req.GetTimeout(); d != nil && d.AsDuration() > 0 {
		r.Timeout = d.AsDuration()
	}
	if d := req.GetBuildTimeout(); d != nil && d.AsDuration() > 0 {
		r.CompileTimeout = d.AsDuration()
	}
	if l := req.GetLimits(); l != nil {
		if l.GetWriteBytes() > 0 {
			r.FileSizeBytes = l.GetWriteBytes()
		}
		if l.GetTmpBytes() > 0 {
			r.TmpBytes = l.GetTmpBytes()
		}
		if d := l.GetCpuTime(); d != nil && d.AsDuration() > 0 {
			r.CPUTime = d.AsDuration()
		}
		if l.GetOpenFiles() > 0 {
			r.OpenFiles = int(l.GetOpenFiles())
		}
		if l.GetMemoryBytes() > 0 {
			r.MemoryBytes = l.GetMemoryBytes()
		}
		if l.GetMaxProcs() > 0 {
			r.MaxProcs = int(l.GetMaxProcs())
		}
	}
	if os.Getenv(EnvUnsandboxed) == "1" {
		r.Unsandboxed = true
		return r, nil
	}
	if err := sandbox.Available(ctx); err != nil {
		return r, fmt.Errorf("no working sandbox, refusing to run generated code (install bubblewrap, or opt out explicitly with %s=1): %w", EnvUnsandboxed, err)
	}
	return r, nil
}

// Refuse is the response for a request that cannot be validated.
func Refuse(err error) *sdk.ValidateResponse {
	return &sdk.ValidateResponse{Error: err.Error(), Findings: []*pluginv1.Finding{{
		Category: "validation_error", Severity: pluginv1.Severity_SEVERITY_ERROR, Message: err.Error(),
	}}}
}

// Response converts a check report.
func Response(rep check.Report, maxLog int) *sdk.ValidateResponse {
	out := &sdk.ValidateResponse{Passed: rep.OK, TestsAdded: rep.TestsChanged, Repeats: int32(rep.Repeats)}
	if maxLog <= 0 {
		maxLog = check.LogLimit
	}
	out.Logs = check.TrimLog(rep.Log, maxLog)
	out.LogsTruncated = len(rep.Log) > maxLog
	for _, f := range rep.Findings {
		out.Findings = append(out.Findings, Finding(f))
	}
	if t := rep.Tests; t != nil {
		out.Tests = &pluginv1.TestCounts{Total: int32(t.Total()), Passed: int32(t.Passed), Failed: int32(t.Failed), Skipped: int32(t.Skipped)}
		for _, c := range t.Cases {
			out.TestResults = append(out.TestResults, &pluginv1.TestResult{Name: c.Name, Suite: c.Package,
				Status: testStatus(c.Status), Duration: durationpb.New(c.Duration), Output: check.TrimLog(c.Output, 4096)})
		}
	}
	if c := rep.Coverage; c != nil && c.Total > 0 {
		out.CoveragePercent, out.CoverageMeasured = c.Percent, true
	}
	if m := rep.Mutation; m != nil {
		mr := &pluginv1.MutationResult{Measured: m.Measured, NotMeasuredReason: m.Reason, MutantsRun: int32(m.Run),
			MutantsKilled: int32(m.Killed), MutantsNotViable: int32(m.NotViable), BudgetExhausted: m.Exhausted,
			Duration: durationpb.New(m.Duration)}
		for _, f := range m.Functions {
			mr.Functions = append(mr.Functions, &pluginv1.MutatedFunction{File: f.File, Name: f.Name, Line: int32(f.Line),
				Reached: f.Reached, GateMeasured: f.GateRun, GateKilled: f.GateKilled})
		}
		out.Mutation = mr
	}
	return out
}

// Finding converts one finding.
func Finding(f check.Finding) *pluginv1.Finding {
	return &pluginv1.Finding{File: f.File, Line: int32(f.Line), Column: int32(f.Column), Category: f.Category,
		Severity: severity(f.Severity), Message: f.Message}
}

func severity(s string) pluginv1.Severity {
	switch strings.ToLower(s) {
	case check.SeverityError:
		return pluginv1.Severity_SEVERITY_ERROR
	case check.SeverityWarning:
		return pluginv1.Severity_SEVERITY_WARNING
	case check.SeverityInfo:
		return pluginv1.Severity_SEVERITY_INFO
	}
	return pluginv1.Severity_SEVERITY_UNSPECIFIED
}

func testStatus(s check.TestStatus) pluginv1.TestStatus {
	switch s {
	case check.TestPassed:
		return pluginv1.TestStatus_TEST_STATUS_PASSED
	case check.TestFailed:
		return pluginv1.TestStatus_TEST_STATUS_FAILED
	case check.TestSkipped:
		return pluginv1.TestStatus_TEST_STATUS_SKIPPED
	}
	return pluginv1.TestStatus_TEST_STATUS_UNSPECIFIED
}

// BaseSpec is the sandbox specification a project's own commands run under:
// the toolchain environment of its preset, or a plain one for other languages.
func BaseSpec(req *sdk.ValidateRequest, runner check.Runner, goCache string) (sandbox.Spec, error) {
	dir := req.GetWorktreePath()
	lang, err := Language(req)
	if err != nil {
		return custom.BaseSpec(dir), nil
	}
	switch lang {
	case check.LangGo:
		return gocheck.Options{Runner: runner, GoCache: goCache}.Spec(dir)
	default:
		return jscheck.Options{Runner: runner}.Spec(dir), nil
	}
}

// RunCommands runs the project's own command lines in order, stopping at the
// first failure; the report merges them.
func RunCommands(ctx context.Context, req *sdk.ValidateRequest, runner check.Runner, category string, commands ...string) (check.Report, error) {
	goCache, cleanup, err := GoCache(req)
	if err != nil {
		return check.Report{}, err
	}
	defer cleanup()
	base, err := BaseSpec(req, runner, goCache)
	if err != nil {
		return check.Report{}, err
	}
	var rep check.Report
	rep.OK = true
	for _, c := range commands {
		if strings.TrimSpace(c) == "" {
			continue
		}
		r, err := custom.Run(ctx, runner, base, c, category)
		if err != nil {
			return rep, err
		}
		rep.Log = check.TrimLog(rep.Log+"$ "+c+"\n"+r.Log, check.LogLimit)
		rep.Findings = append(rep.Findings, r.Findings...)
		rep.Duration += r.Duration
		rep.TimedOut, rep.OOM = rep.TimedOut || r.TimedOut, rep.OOM || r.OOM
		if r.Tests != nil {
			rep.Tests = r.Tests
		}
		if !r.OK {
			rep.OK = false
			break
		}
	}
	rep.TestsChanged = check.TouchesTests(req.GetChangedFiles())
	return rep, nil
}

// Step is one validation step: the project's own command lines when it set
// any (any language), otherwise the language preset.
type Step struct {
	// Commands are the project's own command lines for this step; empty ones are ignored.
	Commands []string
	// Category names findings of a failing command.
	Category string
	// Field is the project field to set when the language has no preset.
	Field string
	// Go and Node run the presets.
	Go   func(ctx context.Context, dir string, o gocheck.Options) (check.Report, error)
	Node func(ctx context.Context, dir string, o jscheck.Options) (check.Report, error)
	// Mutation: the step measures test strength after a passing run, within
	// the request's mutation budget (the test step).
	Mutation bool
}

// Validate runs step for req in the sandbox and answers in the plugin
// contract's terms; every problem is a refusal the pipeline reports, never a
// plugin error.
func Validate(ctx context.Context, req *sdk.ValidateRequest, step Step) *sdk.ValidateResponse {
	runner, err := Runner(ctx, req)
	if err != nil {
		return Refuse(err)
	}
	var rep check.Report
	if hasCommand(step.Commands) {
		rep, err = RunCommands(ctx, req, runner, step.Category, step.Commands...)
	} else {
		var lang string
		if lang, err = Language(req); err != nil {
			return Refuse(fmt.Errorf("%w: no preset for this language; set the project's %s", err, step.Field))
		}
		dir, changed := req.GetWorktreePath(), req.GetChangedFiles()
		mut := mutationOptions(ctx, req, step)
		if lang == check.LangGo {
			goCache, cleanup, cerr := GoCache(req)
			if cerr != nil {
				return Refuse(cerr)
			}
			rep, err = step.Go(ctx, dir, gocheck.Options{Runner: runner, Changed: changed, GoCache: goCache, Mutation: mut, Repeats: int(req.GetRepeats()),
				Criteria: criteriaOf(req, step)})
			cleanup()
		} else {
			rep, err = step.Node(ctx, dir, jscheck.Options{Runner: runner, Changed: changed, Mutation: mut, Criteria: criteriaOf(req, step)})
		}
	}
	if err != nil {
		return Refuse(err)
	}
	if step.Mutation && rep.OK && rep.Mutation == nil && !req.GetMutation().GetDisabled() {
		reason := "no tests ran in the preset, so no mutant could be judged"
		if hasCommand(step.Commands) {
			reason = "the project's own test command runs the tests; test strength is measured for the Go and TypeScript/JavaScript presets only"
		}
		rep.Mutation = &check.Mutation{Reason: reason}
	}
	rep.TestsChanged = rep.TestsChanged || check.TouchesTests(req.GetChangedFiles())
	return Response(rep, int(req.GetMaxLogBytes()))
}

// criteriaOf is the work order's acceptance criteria for the test step
// (which runs those that are executable examples), else none.
func criteriaOf(req *sdk.ValidateRequest, step Step) []string {
	if !step.Mutation {
		return nil
	}
	return req.GetWorkOrder().GetAcceptanceCriteria()
}

// mutationOptions is the step's mutation budget with the change's lines, or
// nil when the step does not mutate.
func mutationOptions(ctx context.Context, req *sdk.ValidateRequest, step Step) *check.MutationOptions {
	b := req.GetMutation()
	if !step.Mutation || b.GetDisabled() {
		return nil
	}
	o := &check.MutationOptions{MaxMutants: int(b.GetMaxMutants()), Lines: map[string][]int{}}
	if d := b.GetTimeBudget(); d != nil {
		o.Time = d.AsDuration()
	}
	for _, f := range static.Changes(req.GetDiff(), req.GetChangedFiles()) {
		o.Lines[f.Path] = f.Lines
	}
	return o
}

func hasCommand(cmds []string) bool {
	for _, c := range cmds {
		if strings.TrimSpace(c) != "" {
			return true
		}
	}
	return false
}
