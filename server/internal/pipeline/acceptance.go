package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/edit"
	"github.com/moosehq/moose/server/internal/score"
	"github.com/moosehq/moose/server/internal/workorder"
	"github.com/moosehq/moose/server/internal/workspace"
)

// Acceptance tests (see package acceptance): after the validators, a cycle
// whose work order has hidden tests, FAIL_TO_PASS or PASS_TO_PASS, or whose
// own test run failed, is judged against a baseline of the base commit and,
// with hidden tests, by a second test run on a copy of the candidate tree
// with the hidden files written over it. Neither the hidden files nor that
// run's output ever reach a proposer, an attempt's validations or a log.

// DefaultBaselineRepeats is how often the base commit's tests run to find
// flaky tests.
const DefaultBaselineRepeats = 3

// hiddenPaths are the files the work order's hidden tests write.
func hiddenPaths(r *run) []string {
	_, paths, _ := r.wo.Acceptance.Edits()
	return paths
}

// withoutHidden drops the edits that would write a hidden test file.
func withoutHidden(hidden []string, edits []edit.Edit) (kept []edit.Edit, refused []string) {
	for _, e := range edits {
		if p, err := edit.CleanPath(e.Path); err == nil && slices.Contains(hidden, p) {
			if !slices.Contains(refused, p) {
				refused = append(refused, p)
			}
			continue
		}
		kept = append(kept, e)
	}
	return kept, refused
}

// accept judges cycle c by the acceptance tests and the baseline.
func (e *Engine) accept(ctx context.Context, id uuid.UUID, r *run, c *cycle, pinfo ProjectInfo) error {
	if e.deps.Baselines == nil {
		return nil
	}
	if c.Applied == 0 {
		if refused := c.refused(); len(refused) > 0 {
			c.Acceptance = &acceptance.Report{Refused: refused}
		}
		return nil
	}
	spec := r.wo.Acceptance
	test := c.report("test")
	ownFailures := test != nil && !test.Skipped && !test.Passed && test.TestsFailed > 0
	if !spec.Any() && !ownFailures && len(c.refused()) == 0 {
		return nil
	}
	phase := r.phase(PhaseValidating)
	base, err := e.baseline(ctx, id, r, pinfo)
	if err != nil {
		return err
	}
	results, ran := []acceptance.Result(nil), test != nil && !test.Skipped && c.buildPassed()
	if test != nil {
		results = test.Results
	}
	var notes []string
	if spec.Hidden() && ran {
		e.phase(ctx, id, phase, fmt.Sprintf("cycle %d: running the work order's acceptance tests", c.N), nil)
		results, ran, notes, err = e.hiddenRun(ctx, r, c, pinfo)
		if err != nil {
			return err
		}
	}
	rep := acceptance.Judge(spec, base, results, ran)
	rep.Notes = append(notes, rep.Notes...)
	rep.Refused = c.refused()
	if rep.Refused != nil {
		rep.Passed = false
	}
	if ownFailures {
		if excused, all := acceptance.Excuse(base, test.Results); all && !hasCategory(test.Findings, score.CategoryTimeout, "test_build_failure") {
			rep.Excused = excused
		}
	}
	c.Acceptance = rep
	e.phase(ctx, id, phase, fmt.Sprintf("cycle %d: acceptance %s", c.N, acceptanceSummary(rep)), nil)
	return nil
}

func hasCategory(fs []Finding, cats ...string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return slices.Contains(cats, f.Category) })
}

func acceptanceSummary(rep *acceptance.Report) string {
	s := acceptanceVerdict(rep)
	if n := len(rep.Doubtful); n > 0 {
		// Counted, not named: events reach read-only callers.
		s += fmt.Sprintf("; %d FAIL_TO_PASS test(s) prove little (already passing or flaky at the base commit; the result's notes name them)", n)
	}
	return s
}

func acceptanceVerdict(rep *acceptance.Report) string {
	switch {
	case len(rep.Refused) > 0:
		return "refused: the proposal wrote hidden test files"
	case !rep.Ran:
		return "did not run"
	case rep.Passed:
		return fmt.Sprintf("passed (%d named, %d derived from the baseline)", len(rep.Tests), rep.DerivedPassed)
	}
	return fmt.Sprintf("failed: %d test(s)", len(rep.Failures()))
}

// pendingBaseline is a baseline being measured while the proposer works.
type pendingBaseline struct {
	done chan struct{}
	b    *acceptance.Baseline
	err  error
}

// wait waits for the measurement to end (nothing to wait for on nil).
func (p *pendingBaseline) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prefetchBaseline starts measuring the run's baseline in the background
// when the work order's acceptance tests will need it, so that it overlaps
// the proposer's call instead of following the candidate's validation, and
// leaves the project's build cache warm for the candidate. The returned stop
// cancels it and waits for it to end.
func (e *Engine) prefetchBaseline(ctx context.Context, id uuid.UUID, r *run, pinfo ProjectInfo) (stop func()) {
	if e.deps.Baselines == nil || !r.wo.Acceptance.Any() {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &pendingBaseline{done: make(chan struct{})}
	r.pending = p
	go func() {
		defer close(p.done)
		p.b, p.err = e.measureBaseline(ctx, id, r, pinfo)
	}()
	return func() {
		cancel()
		<-p.done
	}
}

// baseline returns the base commit's test baseline for the run's project
// and command set: the one prefetchBaseline measured, else the stored one,
// else measured now.
func (e *Engine) baseline(ctx context.Context, id uuid.UUID, r *run, pinfo ProjectInfo) (*acceptance.Baseline, error) {
	if p := r.pending; p != nil {
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
		// Later cycles read the stored one.
		r.pending = nil
		return p.b, p.err
	}
	return e.measureBaseline(ctx, id, r, pinfo)
}

// baselineKey is the command set a baseline is stored under: the commands
// and the configured test limit (never a derived one, which comes from it).
func baselineKey(r *run, cfg Config, pinfo ProjectInfo) string {
	_, testLimit := r.timeouts(cfg)
	return acceptance.Commands(pinfo.Language, pinfo.Preset, pinfo.BuildCommand, pinfo.TestCommand, pinfo.TypecheckCommand, testLimit.String())
}

// testLimit is the run's test time limit: the work order's or the project's
// own, else derived from the project's measured baseline (this base commit's
// when prefetchBaseline measured it, else the latest), else moosed's default.
// derived says what it came from, for the validation's event.
func (e *Engine) testLimit(ctx context.Context, r *run, pinfo ProjectInfo) (limit time.Duration, derived string) {
	_, limit = r.timeouts(e.cfg)
	if e.deps.Baselines == nil || r.wo.TestTimeout > 0 || (r.project != nil && r.project.TestTimeout > 0) {
		return limit, ""
	}
	var b *acceptance.Baseline
	if p := r.pending; p != nil && p.wait(ctx) == nil && p.err == nil {
		b = p.b
	} else if got, err := e.deps.Baselines.Latest(ctx, r.project.ID, baselineKey(r, e.cfg, pinfo)); err == nil {
		b = got
	}
	d := acceptance.TestLimit(b, limit)
	if d == limit {
		return limit, ""
	}
	return d, fmt.Sprintf("%d× the base commit %.12s's test run of %s", acceptance.TestLimitFactor, b.BaseCommit, time.Duration(b.DurationMS)*time.Millisecond)
}

// measureBaseline returns the stored baseline, measuring it the first time
// (in a fresh worktree at the base commit, the tests run
// DefaultBaselineRepeats times). A measurement of the same baseline already
// under way on this node (the project's warm-up, another work order) is
// waited for instead of repeated.
func (e *Engine) measureBaseline(ctx context.Context, id uuid.UUID, r *run, pinfo ProjectInfo) (*acceptance.Baseline, error) {
	build, test := r.timeouts(e.cfg)
	spec := baselineSpec{project: r.project, base: r.ws.BaseCommit(), key: baselineKey(r, e.cfg, pinfo), pinfo: pinfo, build: build, test: test, workOrder: id}
	return e.baselineOnce(ctx, spec, func(ctx context.Context) (*acceptance.Baseline, error) {
		e.phase(ctx, id, r.phase(PhaseValidating), fmt.Sprintf("measuring the base commit %.12s: its tests, %d times", spec.base, DefaultBaselineRepeats), nil)
		ws, err := e.deps.Workspaces.Acquire(ctx, workspace.Project{ID: r.project.ID.String(), RepoURL: r.project.RepoURL, Branch: r.project.DefaultBranch}, spec.base)
		if err != nil {
			return nil, fmt.Errorf("baseline worktree: %w", err)
		}
		defer ws.Release()
		return e.measureIn(ctx, ws, spec)
	})
}

// baselineSpec is one baseline: a project's base commit under a command set
// and its limits.
type baselineSpec struct {
	project     *workorder.Project
	base, key   string
	pinfo       ProjectInfo
	build, test time.Duration
	workOrder   uuid.UUID // whose validation asks (nil for a warm-up)
}

// baselineOnce returns spec's stored baseline, else measures it with
// measure, one measurement of a spec at a time on this node: the others wait
// for it (and measure themselves only if it was cancelled).
func (e *Engine) baselineOnce(ctx context.Context, spec baselineSpec, measure func(context.Context) (*acceptance.Baseline, error)) (*acceptance.Baseline, error) {
	flight := spec.project.ID.String() + "\x00" + spec.base + "\x00" + spec.key
	for {
		if b, err := e.deps.Baselines.Get(ctx, spec.project.ID, spec.base, spec.key); err != nil || b != nil {
			if b != nil {
				b.Reused = true
			}
			return b, err
		}
		ch := e.measuring.DoChan(flight, func() (any, error) { return measure(ctx) })
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case res := <-ch:
			if res.Err != nil && ctx.Err() == nil && (errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded)) {
				continue // the measurement waited for was called off; measure again
			}
			b, _ := res.Val.(*acceptance.Baseline)
			if b != nil && res.Shared {
				cp := *b
				cp.Reused = true
				b = &cp
			}
			return b, res.Err
		}
	}
}

// measureIn measures spec's baseline in ws (a clean worktree at spec.base)
// and stores it.
func (e *Engine) measureIn(ctx context.Context, ws *workspace.Workspace, spec baselineSpec) (*acceptance.Baseline, error) {
	view, err := ws.View(ctx, workspace.ViewLimits{WriteBytes: e.cfg.Limits.WriteBytes, TmpBytes: e.cfg.Limits.TmpBytes})
	if err != nil {
		return nil, fmt.Errorf("baseline view: %w", err)
	}
	defer func() { _ = view.Close() }()
	cacheDir, err := e.projectCacheDir(ctx, spec.project.ID)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	var info WorkOrderInfo
	if spec.workOrder != uuid.Nil {
		info.ID = spec.workOrder.String()
	}
	req := ValidateRequest{Dir: view.Dir, WorkOrder: info, Project: spec.pinfo,
		Timeout: spec.test, BuildTimeout: spec.build, TempDir: view.TmpDir, CacheDir: cacheDir, Limits: e.cfg.Limits, Mutation: MutationBudget{Disabled: true}}
	var runs [][]acceptance.Result
	built := false
	// One request for every repetition (Go's preset runs them in one
	// `go test -count`: one build); a validator that ran fewer, or a
	// repeated run a crash cut short, is made up with runs of its own.
	for len(runs) < DefaultBaselineRepeats {
		req.Repeats = DefaultBaselineRepeats - len(runs)
		rep, err := e.deps.Validator.Validate(ctx, "test", req)
		if err != nil {
			return nil, fmt.Errorf("baseline test run: %w", err)
		}
		built = built || rep.Passed || len(rep.Results) > 0
		if k := rep.Repeats; k <= 1 {
			runs = append(runs, rep.Results)
		} else if split, ok := acceptance.SplitRepeats(rep.Results, k); ok && k <= req.Repeats {
			runs = append(runs, split...)
		} else {
			runs = append(runs, acceptance.FirstOccurrences(rep.Results))
		}
	}
	b := acceptance.Classify(spec.base, built, runs, time.Since(began).Milliseconds()/int64(len(runs)))
	return e.deps.Baselines.Put(ctx, spec.project.ID, spec.key, b)
}

func (e *Engine) cacheDir(ctx context.Context, r *run) (string, error) {
	return e.projectCacheDir(ctx, r.project.ID)
}

// projectCacheDir is project id's build cache ("" without caches).
func (e *Engine) projectCacheDir(ctx context.Context, id uuid.UUID) (string, error) {
	if e.deps.Caches == nil {
		return "", nil
	}
	d, err := e.deps.Caches.Dir(ctx, id.String())
	if err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	return d, nil
}

// hiddenRun runs the tests on a copy of the candidate tree with the hidden
// test files written over it. Its logs and findings are kept out of the
// cycle's reports: they can quote the hidden tests.
func (e *Engine) hiddenRun(ctx context.Context, r *run, c *cycle, pinfo ProjectInfo) (results []acceptance.Result, ran bool, notes []string, err error) {
	edits, paths, err := r.wo.Acceptance.Edits()
	if err != nil {
		return nil, false, []string{"the hidden tests could not be read: " + err.Error()}, nil
	}
	view, err := r.ws.View(ctx, workspace.ViewLimits{WriteBytes: e.cfg.Limits.WriteBytes, TmpBytes: e.cfg.Limits.TmpBytes})
	if err != nil {
		return nil, false, nil, fmt.Errorf("acceptance view: %w", err)
	}
	defer func() { _ = view.Close() }()
	res, findings, err := edit.ApplyWith(view.Dir, edits, edit.Policy{})
	if err != nil {
		return nil, false, nil, fmt.Errorf("write hidden tests: %w", err)
	}
	for _, f := range findings {
		if f.Category != edit.CategoryAlreadyApplied {
			// The file name only: the finding's text can quote the patch.
			notes = append(notes, "a hidden test edit to "+f.Path+" did not apply to the candidate tree ("+f.Category+")")
		}
	}
	if res.Applied == 0 {
		return nil, false, notes, nil
	}
	cacheDir, err := e.cacheDir(ctx, r)
	if err != nil {
		return nil, false, nil, err
	}
	testLimit, _ := e.testLimit(ctx, r, pinfo)
	buildLimit, _ := r.timeouts(e.cfg)
	changed := append(slices.Clone(c.Changed), paths...)
	rep, err := e.deps.Validator.Validate(ctx, "test", ValidateRequest{Dir: view.Dir, ChangedFiles: changed, WorkOrder: WorkOrderInfo{ID: r.wo.ID.String()},
		Project: pinfo, Timeout: testLimit, BuildTimeout: buildLimit, TempDir: view.TmpDir, CacheDir: cacheDir, Limits: e.cfg.Limits, Mutation: MutationBudget{Disabled: true}})
	if err != nil {
		return nil, false, nil, fmt.Errorf("acceptance test run: %w", err)
	}
	if rep.Skipped {
		return nil, false, append(notes, "the test validator skipped the acceptance run: "+rep.Error), nil
	}
	return rep.Results, true, notes, nil
}

// refused are the hidden test files the cycle's proposal tried to write.
func (c *cycle) refused() []string {
	var out []string
	for _, f := range c.EditFindings {
		if f.Category == score.CategoryHiddenTest {
			out = append(out, f.File)
		}
	}
	return out
}

// acceptanceInput is the verdict as the score rules read it.
func acceptanceInput(c *cycle, hidden bool) *score.Acceptance {
	a := c.Acceptance
	if a == nil {
		return nil
	}
	// Repository tests by name; the work order's FAIL_TO_PASS tests by count
	// only: the gate's words reach the proposer.
	var failures []string
	f2p := 0
	for _, o := range a.Tests {
		if o.Excluded || o.Status == acceptance.Passed {
			continue
		}
		if o.Kind == "pass_to_pass" {
			failures = append(failures, o.ID+" "+strings.ReplaceAll(o.Status, "_", " "))
		} else {
			f2p++
		}
	}
	if f2p > 0 {
		failures = append(failures, fmt.Sprintf("%d of the work order's FAIL_TO_PASS tests", f2p))
	}
	return &score.Acceptance{Ran: a.Ran, Passed: a.Passed, Hidden: hidden, Failures: failures, Counted: len(a.Tests) + a.DerivedPassed, Refused: a.Refused}
}

// acceptanceFeedback tells the proposer what the acceptance tests said
// without showing them: tests of the repository (PASS_TO_PASS) by name, the
// work order's hidden ones by count.
func acceptanceFeedback(a *acceptance.Report) string {
	if a == nil || a.Passed {
		return ""
	}
	if len(a.Refused) > 0 {
		return "Your change wrote " + strings.Join(a.Refused, ", ") + ": those files belong to the work order's acceptance tests and may not be changed; the edits to them were refused."
	}
	var broken []string
	hiddenFailed := 0
	for _, o := range a.Tests {
		if o.Excluded || o.Status == acceptance.Passed {
			continue
		}
		if o.Kind == "pass_to_pass" {
			broken = append(broken, o.ID)
		} else {
			hiddenFailed++
		}
	}
	var b strings.Builder
	if len(broken) > 0 {
		fmt.Fprintf(&b, "Tests that pass at the base commit fail after your change: %s. Keep them passing.\n", strings.Join(broken, ", "))
	}
	if hiddenFailed > 0 {
		fmt.Fprintf(&b, "%d of the work order's acceptance tests (which you cannot see) still fail: re-read the work order and its criteria.\n", hiddenFailed)
	}
	if !a.Ran {
		b.WriteString("The acceptance tests could not run: the change must build.\n")
	}
	return b.String()
}

// acceptanceSection is the pull request's account of the acceptance tests:
// outcomes per test and the baseline, never the hidden tests' content or
// their failure output.
func acceptanceSection(a *acceptance.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Acceptance tests: %s\n\n", okWord(a.Passed))
	for _, o := range a.Tests {
		line := fmt.Sprintf("- %s `%s`: %s", strings.ReplaceAll(o.Kind, "_", " "), o.ID, strings.ReplaceAll(o.Status, "_", " "))
		if o.Excluded {
			line += " (excluded: " + o.Exclusion + ")"
		}
		b.WriteString(line + "\n")
	}
	if a.DerivedPassed > 0 {
		fmt.Fprintf(&b, "- %d tests passing at the base commit still pass\n", a.DerivedPassed)
	}
	if bl := a.Baseline; bl != nil {
		fmt.Fprintf(&b, "- baseline: base commit `%.12s`, %d runs, %d passing, %d failing, %d flaky\n", bl.BaseCommit, bl.Repeats, len(bl.Passing), len(bl.Failing), len(bl.Flaky))
	}
	for _, n := range a.Notes {
		b.WriteString("- note: " + n + "\n")
	}
	b.WriteString("\n")
	return b.String()
}
