package pipeline

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/edit"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/promptctx"
	"github.com/moosehq/moose/server/internal/score"
	"github.com/moosehq/moose/server/internal/workorder"
	"github.com/moosehq/moose/server/internal/workspace"
)

// errStale marks a job that no longer matches its work order (a newer
// execution exists, or the work order already ended): nothing to do.
var errStale = errors.New("stale execution")

// Phases inside in_progress, each recorded as an event.
const (
	PhaseRouting    = "routing"
	PhaseWorkspace  = "workspace"
	PhaseProposing  = "proposing"
	PhaseApplying   = "applying"
	PhaseValidating = "validating"
	PhaseRefining   = "refining"
	PhaseScoring    = "scoring"
	PhasePublishing = "publishing"
)

// cycle is one propose → apply → validate round.
type cycle struct {
	N            int
	Proposal     ProposeResponse
	Edits        []edit.Edit
	EditFindings []Finding
	Applied      int
	Changed      []string
	TreeHash     string
	Reports      []Report
	Score        score.Result
	Duration     time.Duration
	// TestsOptional is the work order's waiver of the tests gate.
	TestsOptional bool
	// LinesAdded and LinesRemoved are relative to the base commit, cumulative.
	LinesAdded, LinesRemoved int
	// Acceptance is the acceptance verdict (nil: none was needed).
	Acceptance *acceptance.Report
	// HiddenTests: the work order has hidden acceptance test files.
	HiddenTests bool
}

func (c *cycle) report(name string) *Report {
	for i := range c.Reports {
		if c.Reports[i].Validator == name {
			return &c.Reports[i]
		}
	}
	return nil
}

func (c *cycle) buildPassed() bool {
	r := c.report("build")
	return c.Applied > 0 && (r == nil || r.Passed)
}

// testsPassed: the build passed and at least one test ran, none failing.
// A test command that passed without running a test proves nothing.
func (c *cycle) testsPassed() bool {
	r := c.report("test")
	return c.buildPassed() && r != nil && r.Passed && !r.Skipped && r.TestsFailed == 0 && r.TestsTotal-r.TestsSkipped > 0
}

// proven: the change that applied built, passed its tests and scored above
// the bar (no stubs left behind). An edit that did not apply does not
// discard a change that passes every gate: the score already counts it, and
// refining a passing tree only risks breaking it. Anything less earns
// another cycle.
func (c *cycle) proven() bool {
	return c.Score.Passed
}

// better reports whether a's result beats b's: passing beats failing, then
// the higher score wins. Equal results are not better, so ties go to the
// earlier cycle.
func better(a, b *cycle) bool {
	if a.Score.Passed != b.Score.Passed {
		return a.Score.Passed
	}
	return a.Score.Overall > b.Score.Overall
}

// best is the cycle whose result stands for the execution, or nil.
func best(cycles []*cycle) *cycle {
	var b *cycle
	for _, c := range cycles {
		if b == nil || better(c, b) {
			b = c
		}
	}
	return b
}

// decisive names the failure that decided a cycle's verdict, with its
// file:line: the first compiler error, else the first failing test, else
// the first problem of any other validator that failed, else the first edit
// that did not apply. Empty when nothing failed.
func decisive(c *cycle) string {
	pick := func(fs []Finding) string {
		for _, f := range fs {
			if f.Severity == "" || f.Severity == "error" {
				return locate(f) + f.Message
			}
		}
		if len(fs) > 0 {
			return locate(fs[0]) + fs[0].Message
		}
		return ""
	}
	for _, name := range []string{"build", "test"} {
		if r := c.report(name); r != nil && !r.Passed && !r.Skipped {
			if d := pick(r.Findings); d != "" {
				return name + ": " + d
			}
		}
	}
	for _, r := range c.Reports {
		if !r.Passed && !r.Skipped && r.Validator != "build" && r.Validator != "test" {
			if d := pick(r.Findings); d != "" {
				return r.Validator + ": " + d
			}
		}
	}
	if d := pick(c.EditFindings); d != "" {
		return "edit: " + d
	}
	return ""
}

// locate renders a finding's place as "file:line: ", or nothing.
func locate(f Finding) string {
	switch {
	case f.File == "":
		return ""
	case f.Line > 0:
		return f.File + ":" + strconv.Itoa(f.Line) + ": "
	default:
		return f.File + ": "
	}
}

func (e *Engine) phase(ctx context.Context, id uuid.UUID, phase, msg string, data map[string]string) {
	if e.fenceValid() != nil {
		return // a node that may have lost its work reports nothing about it
	}
	if err := e.deps.WorkOrders.AppendEvent(ctx, workorder.Event{WorkOrderID: id, Type: workorder.EventPhase, Phase: phase, Message: msg, Data: data}); err != nil {
		e.log.Warn("record phase event", "work_order", id, "phase", phase, "err", err)
	}
}

// execute runs (or resumes) one execution of a work order.
func (e *Engine) execute(ctx context.Context, args executeArgs, attempt int) error {
	wos := e.deps.WorkOrders
	wo, err := wos.Get(ctx, args.WorkOrderID)
	if err != nil {
		return err
	}
	current, err := wos.Execution(ctx, wo.ID)
	if err != nil {
		return err
	}
	if current != args.Execution {
		return errStale
	}
	switch wo.Status {
	case workorder.StatusApproved:
		if wo, err = wos.Transition(ctx, wo.ID, workorder.OpStart, "execution started"); err != nil {
			return err
		}
	case workorder.StatusInProgress:
		e.phase(ctx, wo.ID, "resuming", fmt.Sprintf("resuming execution %d (attempt %d)", args.Execution, attempt), nil)
	default:
		return errStale
	}
	project, err := wos.GetProject(ctx, wo.ProjectID)
	if err != nil {
		return err
	}
	variantID, shadow, err := e.route(ctx, wo)
	if err != nil {
		return err
	}
	run := &run{wo: wo, project: project, variant: variantID, execution: args.Execution}
	return e.withinBudget(ctx, run, func(ctx context.Context) error {
		if err := e.runCycles(ctx, run); err != nil {
			if run.ws != nil {
				run.ws.Release()
			}
			return err
		}
		defer run.ws.Release()
		var shadowRun *shadowArgs
		if shadow != uuid.Nil {
			shadowRun = &shadowArgs{WorkOrderID: wo.ID, Execution: args.Execution, VariantID: shadow}
		}
		return e.finish(ctx, wo, project, run.ws, run.variant, run.cycles, shadowRun)
	})
}

// run is one execution (or shadow run) of a work order in progress.
type run struct {
	wo        *workorder.WorkOrder
	project   *workorder.Project
	variant   uuid.UUID
	execution int
	shadow    bool // a candidate's run on a copy: scored, never published or transitioned

	ws       *workspace.Workspace
	cycles   []*cycle
	fellBack bool
	// pending is the baseline measured in the background (prefetchBaseline).
	pending *pendingBaseline
}

// scoreConfig is moosed's scoring configuration with the project's own
// settings applied.
func (r *run) scoreConfig(base score.Config) score.Config {
	if r.project != nil && r.project.MinMutationScore != nil {
		base.MinMutationScore = *r.project.MinMutationScore
	}
	return base
}

func (r *run) phase(name string) string {
	if r.shadow {
		return "shadow_" + name
	}
	return name
}

// timeouts are the build and test limits of the run: the work order's own,
// else its project's, else moosed's defaults.
func (r *run) timeouts(cfg Config) (build, test time.Duration) {
	build, test = cfg.BuildTimeout, cfg.TestTimeout
	if p := r.project; p != nil {
		build, test = cmp.Or(p.BuildTimeout, build), cmp.Or(p.TestTimeout, test)
	}
	if w := r.wo; w != nil {
		build, test = cmp.Or(w.BuildTimeout, build), cmp.Or(w.TestTimeout, test)
	}
	return build, test
}

// runCycles takes a clean worktree, replays the cycles an interrupted earlier
// attempt already stored (so the tree is exactly as it left it), and runs
// propose → apply → validate until a cycle is proven or the refinements are
// used up. On success r.ws holds the worktree; the caller releases it.
func (e *Engine) runCycles(ctx context.Context, r *run) error {
	wo, project := r.wo, r.project
	e.phase(ctx, wo.ID, r.phase(PhaseWorkspace), "acquiring a clean worktree", nil)
	ws, err := e.deps.Workspaces.Acquire(ctx, workspace.Project{ID: project.ID.String(), RepoURL: project.RepoURL, Branch: project.DefaultBranch}, "")
	if err != nil {
		return fmt.Errorf("acquire workspace: %w", err)
	}
	r.ws = ws

	info := WorkOrderInfo{ID: wo.ID.String(), Title: wo.Title, Description: wo.Description,
		AcceptanceCriteria: wo.AcceptanceCriteria, Complexity: wo.Complexity, Metadata: wo.Metadata}
	pinfo := projectInfo(project)
	defer e.prefetchBaseline(ctx, wo.ID, r, pinfo)()
	pctx, err := promptctx.Build(ctx, ws.Dir(), promptctx.WorkOrder{Title: wo.Title, Description: wo.Description, AcceptanceCriteria: wo.AcceptanceCriteria},
		promptctx.Options{ByteBudget: e.cfg.ContextBudget})
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}

	examples, err := e.examples(ctx, wo.ID, info, project.ID)
	if err != nil {
		return err
	}
	stored, err := e.loadCycles(ctx, wo, r.execution, r.shadow, r.scoreConfig(e.cfg.Score))
	if err != nil {
		return err
	}
	if err := replay(ws, stored, editPolicy(wo), hiddenPaths(r)); err != nil {
		return err
	}
	if len(stored) > 0 {
		last := stored[len(stored)-1]
		if tree, err := ws.TreeHash(ctx); err == nil {
			if a, rm, err := ws.DiffStat(ctx, tree); err == nil {
				last.LinesAdded, last.LinesRemoved = a, rm
				last.Score = score.Compute(r.scoreConfig(e.cfg.Score), scoreInput(last))
			}
		}
		e.phase(ctx, wo.ID, r.phase("resuming"), fmt.Sprintf("replayed %d stored cycle(s) into a fresh worktree", len(stored)), nil)
	}
	r.cycles = stored
	maxCycles := 1 + e.cfg.MaxRefinements
	for n := len(stored) + 1; n <= maxCycles; n++ {
		var prev *cycle
		if len(r.cycles) > 0 {
			prev = r.cycles[len(r.cycles)-1]
			// Stop at the first passing cycle: refining it can only risk it.
			if b := best(r.cycles); b.proven() {
				break
			}
		}
		req := ProposeRequest{WorkOrder: info, Context: pctx, Cycle: n, Examples: examples}
		if prev != nil {
			req.PreviousProposal = prev.Proposal.Text
			req.Findings = prev.findings()
			req.Feedback = feedback(prev)
			req.Context = withFiles(ctx, pctx, ws.Dir(), prev.Changed)
			e.phase(ctx, wo.ID, r.phase(PhaseRefining), fmt.Sprintf("cycle %d: sending %d findings back to the proposer", n, len(req.Findings)), nil)
		}
		e.phase(ctx, wo.ID, r.phase(PhaseProposing), fmt.Sprintf("cycle %d: asking variant %s", n, r.variant), map[string]string{"cycle": strconv.Itoa(n), "variant_id": r.variant.String()})
		start := time.Now()
		resp, err := e.deps.Proposer.Propose(ctx, r.variant, req)
		if err != nil && errors.Is(err, fault.ErrUnavailable) && !r.fellBack && !r.shadow {
			if fb, ok := e.fallback(ctx, wo, r.variant, err); ok {
				r.variant, r.fellBack = fb, true
				resp, err = e.deps.Proposer.Propose(ctx, r.variant, req)
			}
		}
		if err != nil {
			return fmt.Errorf("propose (cycle %d): %w", n, err)
		}
		c := &cycle{N: n, Proposal: resp, TestsOptional: wo.TestsOptional, HiddenTests: wo.Acceptance.Hidden()}
		e.apply(ctx, wo.ID, r, c)
		// The baseline and the candidate compete for the same CPUs and the
		// same compiled packages: the candidate waits for the baseline,
		// whose build it then reuses.
		if err := r.pending.wait(ctx); err != nil {
			return err
		}
		if err := e.validate(ctx, wo.ID, r, c, info, pinfo); err != nil {
			return err
		}
		if err := e.accept(ctx, wo.ID, r, c, pinfo); err != nil {
			return err
		}
		c.Duration = time.Since(start)
		c.Score = score.Compute(r.scoreConfig(e.cfg.Score), scoreInput(c))
		if err := e.saveAttempt(ctx, wo.ID, r, c); err != nil {
			return err
		}
		r.cycles = append(r.cycles, c)
	}
	if len(r.cycles) == 0 {
		return fmt.Errorf("no cycle ran (max refinements %d)", e.cfg.MaxRefinements)
	}
	if b := best(r.cycles); b != r.cycles[len(r.cycles)-1] && !r.shadow {
		// Later cycles made things worse; what stands (and is published) is
		// the best cycle's tree, so rebuild it in a fresh worktree.
		if err := e.rebuild(ctx, r, b); err != nil {
			return err
		}
		e.phase(ctx, wo.ID, r.phase(PhaseRefining), fmt.Sprintf("cycle %d of %d is the best result; its tree stands", b.N, len(r.cycles)),
			map[string]string{"best_cycle": strconv.Itoa(b.N)})
	}
	return nil
}

// replay re-applies stored cycles in order to a tree at their base commit.
// Cycles build on each other, so this rebuilds the tree they left. Answers
// cut off at the token limit were never applied and are skipped.
func replay(ws *workspace.Workspace, cycles []*cycle, policy edit.Policy, hidden []string) error {
	for _, c := range cycles {
		if c.Proposal.FinishReason == "length" {
			continue
		}
		edits, _ := edit.Parse(c.Proposal.Text)
		edits, _ = withoutHidden(hidden, edits)
		if _, _, err := edit.ApplyWith(ws.Dir(), edits, policy); err != nil {
			return fmt.Errorf("replay cycle %d: %w", c.N, err)
		}
	}
	return nil
}

// rebuild replaces r's worktree by a fresh one at the same base commit with
// the cycles up to and including upTo replayed into it.
func (e *Engine) rebuild(ctx context.Context, r *run, upTo *cycle) error {
	base := r.ws.BaseCommit()
	// Release first: a project limited to one worktree would otherwise wait on itself.
	r.ws.Release()
	r.ws = nil
	ws, err := e.deps.Workspaces.Acquire(ctx, workspace.Project{ID: r.project.ID.String(), RepoURL: r.project.RepoURL, Branch: r.project.DefaultBranch}, base)
	if err != nil {
		return fmt.Errorf("acquire workspace for cycle %d: %w", upTo.N, err)
	}
	r.ws = ws
	var upto []*cycle
	for _, c := range r.cycles {
		if c.N <= upTo.N {
			upto = append(upto, c)
		}
	}
	if err := replay(ws, upto, editPolicy(r.wo), hiddenPaths(r)); err != nil {
		return fmt.Errorf("rebuild cycle %d: %w", upTo.N, err)
	}
	if upTo.TreeHash != "" {
		if hash, err := ws.TreeHash(ctx); err == nil && hash != upTo.TreeHash {
			return fmt.Errorf("rebuild cycle %d: tree %s differs from the validated tree %s", upTo.N, hash, upTo.TreeHash)
		}
	}
	return nil
}

// route returns the work order's variant, deciding (once) if not yet
// decided, and the candidate variant of a shadow experiment, if any.
func (e *Engine) route(ctx context.Context, wo *workorder.WorkOrder) (variant, shadow uuid.UUID, err error) {
	tier, err := e.deps.Router.TierFor(ctx, wo.Complexity)
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	var a Assignment
	var assigned bool
	if e.deps.Experiments != nil {
		// Assignments are recorded once, so asking again on a retry is safe.
		if a, assigned, err = e.deps.Experiments.Assign(ctx, wo.ID, tier.Name, tier.VariantID); err != nil {
			return uuid.Nil, uuid.Nil, fmt.Errorf("experiment assignment: %w", err)
		}
		if assigned && a.Shadow {
			shadow = a.VariantID
		}
	}
	if wo.VariantID != "" {
		v, err := uuid.Parse(wo.VariantID)
		return v, shadow, err
	}
	variant, data := tier.VariantID, map[string]string{"tier": tier.Name}
	msg := fmt.Sprintf("complexity %d → tier %s", wo.Complexity, tier.Name)
	if assigned {
		data["experiment_id"], data["arm"] = a.ExperimentID.String(), a.Arm
		if a.Shadow {
			msg += fmt.Sprintf(", experiment %s shadows candidate %s", a.ExperimentID, a.VariantID)
		} else {
			variant = a.VariantID
			msg += fmt.Sprintf(", experiment %s arm %s", a.ExperimentID, a.Arm)
		}
	}
	if variant == uuid.Nil {
		return uuid.Nil, uuid.Nil, fmt.Errorf("tier %q has no variant configured: %w", tier.Name, fault.ErrFailedPrecondition)
	}
	data["variant_id"] = variant.String()
	if err := e.deps.WorkOrders.SetVariant(ctx, wo.ID, variant.String(), workorder.Event{
		WorkOrderID: wo.ID, Type: workorder.EventPhase, Phase: PhaseRouting, Message: msg + " → variant " + variant.String(), Data: data,
	}); err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return variant, shadow, nil
}

// fallback switches to the tier's fallback variant when the chosen one's
// provider stays unavailable, and records that it did.
func (e *Engine) fallback(ctx context.Context, wo *workorder.WorkOrder, from uuid.UUID, cause error) (uuid.UUID, bool) {
	tier, err := e.deps.Router.TierFor(ctx, wo.Complexity)
	if err != nil || tier.FallbackVariantID == uuid.Nil || tier.FallbackVariantID == from {
		return uuid.Nil, false
	}
	to := tier.FallbackVariantID
	err = e.deps.WorkOrders.SetVariant(ctx, wo.ID, to.String(), workorder.Event{
		WorkOrderID: wo.ID, Type: workorder.EventPhase, Phase: PhaseRouting,
		Message: fmt.Sprintf("variant %s unavailable (%v); falling back to %s", from, cause, to),
		Data:    map[string]string{"fallback_from": from.String(), "variant_id": to.String()},
	})
	if err != nil {
		return uuid.Nil, false
	}
	return to, true
}

// MetadataAllowGitMetadata is the work-order metadata key that lets its
// proposals change .gitattributes, .gitmodules and .lfsconfig ("true").
const MetadataAllowGitMetadata = "moose.allow_git_metadata"

// Size limits of an answer: MaxProposalBytes of text in all, MaxFileEditBytes
// for one file's new content; an answer over the first is stored with its
// first StoredProposalHead bytes only.
const (
	MaxProposalBytes   = 2 << 20
	MaxFileEditBytes   = 512 << 10
	StoredProposalHead = 64 << 10
)

func editPolicy(wo *workorder.WorkOrder) edit.Policy {
	return edit.Policy{AllowGitMetadata: wo.Metadata[MetadataAllowGitMetadata] == "true"}
}

// apply parses the proposal into edits and applies them; every problem is a finding.
func (e *Engine) apply(ctx context.Context, id uuid.UUID, r *run, c *cycle) {
	ws := r.ws
	if c.Proposal.FinishReason == "length" {
		// A response cut off by the token limit is never applied: its last file
		// is incomplete even when its fence happens to parse.
		c.EditFindings = append(c.EditFindings, Finding{Source: "edit", Category: "truncated", Severity: "error",
			Message: fmt.Sprintf("the answer was cut off at the output token limit (%d tokens) and was not applied; answer with fewer, smaller edits", c.Proposal.OutputTokens)})
		e.phase(ctx, id, r.phase(PhaseApplying), fmt.Sprintf("cycle %d: answer truncated at the token limit; nothing applied", c.N), nil)
		return
	}
	if n := len(c.Proposal.Text); n > MaxProposalBytes {
		// Not applied and not stored whole: the head is kept for the reader.
		c.Proposal.Text = c.Proposal.Text[:StoredProposalHead] + fmt.Sprintf("\n… [%d more bytes not stored]\n", n-StoredProposalHead)
		c.EditFindings = append(c.EditFindings, Finding{Source: "edit", Category: "proposal_too_large", Severity: "error",
			Message: fmt.Sprintf("the answer is %d bytes, over the %d-byte limit; nothing was applied: answer with only the files that change", n, MaxProposalBytes)})
		e.phase(ctx, id, r.phase(PhaseApplying), fmt.Sprintf("cycle %d: answer of %d bytes over the limit; nothing applied", c.N, n), nil)
		return
	}
	edits, pf := edit.Parse(c.Proposal.Text)
	var big []edit.Edit
	edits = slices.DeleteFunc(edits, func(ed edit.Edit) bool {
		if len(ed.Content) > MaxFileEditBytes || len(ed.Replace) > MaxFileEditBytes {
			big = append(big, ed)
			return true
		}
		return false
	})
	for _, ed := range big {
		c.EditFindings = append(c.EditFindings, Finding{Source: "edit", File: ed.Path, Category: "proposal_too_large", Severity: "error",
			Message: fmt.Sprintf("the new content of %s is over the %d-byte limit for one file; the edit was refused", ed.Path, MaxFileEditBytes)})
	}
	c.Edits = edits
	edits, refused := withoutHidden(hiddenPaths(r), edits)
	for _, p := range refused {
		c.EditFindings = append(c.EditFindings, Finding{Source: "edit", File: p, Category: score.CategoryHiddenTest, Severity: "error",
			Message: p + " is one of the work order's acceptance tests: a proposal may not write it (the edit was refused)"})
	}
	res, af, err := edit.ApplyWith(ws.Dir(), edits, editPolicy(r.wo))
	for _, f := range append(pf, af...) {
		// Line is the target file's line (where the text was expected); the
		// answer's own line is in the message.
		sev := "error"
		if f.Category == edit.CategoryAlreadyApplied {
			sev = "info"
		}
		c.EditFindings = append(c.EditFindings, Finding{Source: "edit", File: f.Path, Line: f.TargetLine, Category: f.Category, Severity: sev, Message: f.Message})
	}
	if err != nil {
		c.EditFindings = append(c.EditFindings, Finding{Source: "edit", Category: edit.CategoryIO, Severity: "error", Message: err.Error()})
	}
	c.Applied = res.Applied
	if changed, err := ws.ChangedFiles(ctx); err == nil {
		c.Changed = changed
	}
	// One hash of the tree serves the diff stat here and the validation cache.
	if hash, err := ws.TreeHash(ctx); err == nil {
		c.TreeHash = hash
		if a, rm, err := ws.DiffStat(ctx, hash); err == nil {
			c.LinesAdded, c.LinesRemoved = a, rm
		}
	}
	e.phase(ctx, id, r.phase(PhaseApplying), fmt.Sprintf("cycle %d: %d edits applied, %d findings, %d files changed", c.N, c.Applied, len(c.EditFindings), len(c.Changed)),
		map[string]string{"applied": strconv.Itoa(c.Applied), "findings": strconv.Itoa(len(c.EditFindings))})
}

// validate runs the validators, reusing an earlier result for an identical tree.
func (e *Engine) validate(ctx context.Context, id uuid.UUID, r *run, c *cycle, info WorkOrderInfo, pinfo ProjectInfo) error {
	ws := r.ws
	phase := r.phase(PhaseValidating)
	if c.Applied == 0 {
		e.phase(ctx, id, phase, fmt.Sprintf("cycle %d: nothing applied, nothing to validate", c.N), nil)
		return nil
	}
	hash := c.TreeHash
	if hash == "" {
		h, err := ws.TreeHash(ctx)
		if err != nil {
			return fmt.Errorf("hash tree: %w", err)
		}
		hash, c.TreeHash = h, h
	}
	build, _ := r.timeouts(e.cfg)
	test, derived := e.testLimit(ctx, r, pinfo)
	// A result is reused only under the same limits: a test that timed out
	// at 10 s may pass at 5 minutes.
	set := strings.Join(e.cfg.Validators, ",") + fmt.Sprintf(";build=%s;test=%s", build, test)
	var cached []byte
	err := e.deps.Pool.QueryRow(ctx, `SELECT result FROM validation_cache WHERE tree_hash = $1 AND validators = $2`, hash, set).Scan(&cached)
	if err == nil && json.Unmarshal(cached, &c.Reports) == nil {
		e.phase(ctx, id, phase, fmt.Sprintf("cycle %d: identical tree validated before; reusing the result", c.N), map[string]string{"tree_hash": hash})
		return nil
	}
	msg := fmt.Sprintf("cycle %d: running %s", c.N, set)
	if derived != "" {
		msg += " (test limit: " + derived + ")"
	}
	e.phase(ctx, id, phase, msg, map[string]string{"tree_hash": hash})
	// Generated code runs on a throwaway view of the tree, never in the
	// workspace: the workspace's .git and files stay as the edits left them,
	// so what moosed later hashes, diffs, commits and pushes is exactly the
	// proposal, and no git command of moosed's ever reads what that code wrote.
	diff, err := ws.Diff(ctx)
	if err != nil {
		return fmt.Errorf("diff for validators: %w", err)
	}
	lim := e.cfg.Limits
	view, err := ws.View(ctx, workspace.ViewLimits{WriteBytes: lim.WriteBytes, TmpBytes: lim.TmpBytes})
	if err != nil {
		return fmt.Errorf("validation view: %w", err)
	}
	defer func() {
		if err := view.Close(); err != nil {
			e.log.Warn("remove validation view", "work_order", id, "err", err)
		}
	}()
	var cacheDir string
	if e.deps.Caches != nil {
		if cacheDir, err = e.deps.Caches.Dir(ctx, r.project.ID.String()); err != nil {
			return fmt.Errorf("build cache: %w", err)
		}
	}
	req := ValidateRequest{Dir: view.Dir, ChangedFiles: c.Changed, WorkOrder: info, Project: pinfo,
		TempDir: view.TmpDir, CacheDir: cacheDir, Diff: diff, Limits: lim, Mutation: e.cfg.Mutation}
	buildFailed := false
	var treeFull, tmpFull bool
	for _, name := range e.cfg.Validators {
		if name == "test" && buildFailed {
			c.Reports = append(c.Reports, Report{Validator: name, Skipped: true, Coverage: -1, Error: "build failed"})
			continue
		}
		switch name {
		case "build":
			req.Timeout = build
		case "test":
			req.Timeout, req.BuildTimeout = test, build
		default:
			req.Timeout, req.BuildTimeout = cmp.Or(e.cfg.ValidatorTimeout, build), 0
		}
		began := time.Now()
		rep, err := e.deps.Validator.Validate(ctx, name, req)
		if err != nil {
			return fmt.Errorf("validator %s: %w", name, err)
		}
		rep.Validator = name
		if rep.DurationMS == 0 {
			// Measured here, around the plugin call, when the plugin does not say.
			rep.DurationMS = max(1, time.Since(began).Milliseconds())
		}
		u := view.Usage()
		if u.TreeFull && !treeFull {
			treeFull = true
			rep.Passed = false
			rep.Findings = append(rep.Findings, Finding{Source: name, Category: "disk_quota", Severity: "error",
				Message: fmt.Sprintf("%s's commands wrote more than %s into the worktree (the quota); writes beyond it failed", name, byteSize(view.Limits.WriteBytes))})
		}
		if u.TmpFull && !tmpFull {
			tmpFull = true
			rep.Passed = false
			rep.Findings = append(rep.Findings, Finding{Source: name, Category: "disk_quota", Severity: "error",
				Message: fmt.Sprintf("%s's commands filled /tmp (%s); writes beyond it failed", name, byteSize(view.Limits.TmpBytes))})
		}
		if name == "build" && !rep.Passed {
			buildFailed = true
		}
		c.Reports = append(c.Reports, rep)
	}
	e.phase(ctx, id, phase, fmt.Sprintf("cycle %d: %s", c.N, summarize(c.Reports)), nil)
	if raw, err := json.Marshal(c.Reports); err == nil {
		_, _ = e.deps.Pool.Exec(ctx, `INSERT INTO validation_cache (tree_hash, validators, result) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING`, hash, set, raw)
	}
	return nil
}

// byteSize renders a quota for people: 1 GiB, 512 MiB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// summarize says in one line what each validator concluded.
func summarize(reports []Report) string {
	var parts []string
	for _, r := range reports {
		verdict := "passed"
		switch {
		case r.Skipped:
			verdict = "skipped"
		case !r.Passed:
			verdict = "failed"
		}
		part := r.Validator + " " + verdict
		if r.TestsTotal > 0 {
			part += fmt.Sprintf(" (%d/%d tests passed)", r.TestsPassed, r.TestsTotal)
		}
		if len(r.Findings) > 0 {
			part += fmt.Sprintf(", %d findings", len(r.Findings))
			if f := r.Findings[0]; true {
				part += fmt.Sprintf(" [first: %s:%d %s: %s]", f.File, f.Line, f.Category, f.Message)
			}
		}
		if r.Error != "" {
			part += ": " + r.Error
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

func (c *cycle) findings() []Finding {
	out := append([]Finding(nil), c.EditFindings...)
	for _, r := range c.Reports {
		out = append(out, r.Findings...)
	}
	return out
}

// feedback renders what went wrong in a cycle the way a developer would want
// it: the edits that did not apply, then the exact build and test output.
func feedback(c *cycle) string {
	var b strings.Builder
	if c.Applied == 0 && len(c.EditFindings) == 0 {
		b.WriteString("No edits were found in your answer. Reply with complete files in the requested edit format.\n")
	}
	if c.Score.Gate != "" && c.Applied > 0 {
		b.WriteString("## Not accepted yet\n")
		for _, g := range strings.Split(c.Score.Gate, "; ") {
			fmt.Fprintf(&b, "- %s\n", g)
		}
		b.WriteString(acceptanceFeedback(c.Acceptance))
	}
	var failed, done []Finding
	timedOut := false
	for _, f := range c.EditFindings {
		if f.Category == edit.CategoryAlreadyApplied {
			done = append(done, f)
		} else {
			failed = append(failed, f)
		}
	}
	if len(failed) > 0 {
		b.WriteString("## Edits that could not be applied\n")
		for _, f := range failed {
			if f.File != "" && f.Line > 0 {
				fmt.Fprintf(&b, "- %s:%d: %s\n", f.File, f.Line, f.Message)
			} else {
				fmt.Fprintf(&b, "- %s\n", f.Message)
			}
		}
	}
	if len(done) > 0 {
		b.WriteString("## Edits already applied (skipped, not applied twice)\n")
		for _, f := range done {
			fmt.Fprintf(&b, "- %s\n", f.Message)
		}
	}
	if len(c.Changed) > 0 {
		// The next answer is applied to this tree, not to the base commit.
		fmt.Fprintf(&b, "## Files changed since the base commit (your next edits apply to them as they are now)\n- %s\n", strings.Join(c.Changed, "\n- "))
	}
	for _, r := range c.Reports {
		if r.Passed || r.Skipped {
			continue
		}
		fmt.Fprintf(&b, "## %s failed\n", r.Validator)
		for _, f := range r.Findings {
			if f.Category == score.CategoryTimeout {
				timedOut = true
			}
			loc := f.File
			if f.Line > 0 {
				loc += ":" + strconv.Itoa(f.Line)
			}
			// A finding's evidence (a testify block, a panic's frames, a
			// diff) spans lines: keep them under its bullet.
			fmt.Fprintf(&b, "- %s [%s] %s\n", loc, f.Category, strings.ReplaceAll(strings.TrimRight(f.Message, "\n"), "\n", "\n    "))
		}
		if r.Log != "" {
			fmt.Fprintf(&b, "```\n%s\n```\n", trimLog(r.Log, 6000))
		}
	}
	if timedOut {
		b.WriteString("## Timed out\nA command above ran past its time limit and was stopped: look for an endless loop, a deadlock or a wait that never ends in the code or test named, not for a compile error.\n")
	}
	// Surviving mutants: the tests passed, but would also pass on broken code.
	var survivors []Finding
	for _, r := range c.Reports {
		for _, f := range r.Findings {
			if f.Category == score.CategorySurvivingMutant {
				survivors = append(survivors, f)
			}
		}
	}
	if len(survivors) > 0 {
		b.WriteString("## Tests that do not prove the change\nThe tests still pass on these broken versions of your code; add assertions that fail on them:\n")
		for _, f := range survivors {
			fmt.Fprintf(&b, "- %s:%d %s\n", f.File, f.Line, f.Message)
		}
	}
	// Static findings matter even when the build passed: stubs are not done.
	for _, r := range c.Reports {
		if r.Validator == "static" && r.Passed && len(r.Findings) > 0 {
			b.WriteString("## Incomplete code\n")
			for _, f := range r.Findings {
				fmt.Fprintf(&b, "- %s:%d [%s] %s\n", f.File, f.Line, f.Category, f.Message)
			}
		}
	}
	return b.String()
}

// trimLog keeps the head and tail of long output, where compilers and test
// runners put what matters.
func trimLog(s string, max int) string {
	if len(s) <= max {
		return s
	}
	head := max / 3
	return s[:head] + "\n…[" + strconv.Itoa(len(s)-max) + " bytes trimmed]…\n" + s[len(s)-(max-head):]
}

// withFiles adds the current content of changed files to the context, so a
// refinement sees what it is fixing.
func withFiles(ctx context.Context, base promptctx.Context, dir string, changed []string) promptctx.Context {
	out := base
	out.Files = append([]promptctx.File(nil), base.Files...)
	have := map[string]int{}
	for i, f := range out.Files {
		have[f.Path] = i
	}
	sort.Strings(changed)
	for _, p := range changed {
		content, err := readSmall(dir, p)
		if err != nil {
			continue
		}
		f := promptctx.File{Path: p, Content: content, Reason: "changed by the previous attempt"}
		if i, ok := have[p]; ok {
			out.Files[i] = f
		} else {
			out.Files = append(out.Files, f)
		}
	}
	return out
}

func promptHash(c *cycle) string {
	if c.Proposal.PromptHash != "" {
		return c.Proposal.PromptHash
	}
	h := sha256.Sum256([]byte(c.Proposal.Text))
	return hex.EncodeToString(h[:8])
}

func (e *Engine) saveAttempt(ctx context.Context, id uuid.UUID, r *run, c *cycle) error {
	edits, _ := json.Marshal(c.Edits)
	ef, _ := json.Marshal(nonNil(c.EditFindings))
	changed, _ := json.Marshal(nonNilS(c.Changed))
	reports, _ := json.Marshal(nonNilR(c.Reports))
	sc, _ := json.Marshal(c.Score)
	var acc []byte
	if c.Acceptance != nil {
		acc, _ = json.Marshal(c.Acceptance)
	}
	rec := workorder.CycleRecord{Acceptance: acc, WorkOrderID: id, Execution: r.execution, Cycle: c.N, Shadow: r.shadow, VariantID: r.variant,
		Model: c.Proposal.Model, PromptHash: promptHash(c), RawProposal: c.Proposal.Text, Edits: edits, EditFindings: ef,
		ChangedFiles: changed, TreeHash: c.TreeHash, Validations: reports, BuildPassed: c.buildPassed(), TestsPassed: c.testsPassed(),
		InputTokens: c.Proposal.InputTokens, OutputTokens: c.Proposal.OutputTokens, CostUSD: c.Proposal.CostUSD,
		CacheReadInputTokens: c.Proposal.CacheReadInputTokens, CacheWriteInputTokens: c.Proposal.CacheWriteInputTokens,
		FinishReason: c.Proposal.FinishReason, DurationMS: c.Duration.Milliseconds(), Score: sc}
	return pgx.BeginFunc(ctx, e.deps.Pool, func(tx pgx.Tx) error {
		if err := e.fenceTx(ctx, tx); err != nil {
			return err
		}
		return e.deps.WorkOrders.SaveCycleTx(ctx, tx, rec)
	})
}

func (e *Engine) loadCycles(ctx context.Context, wo *workorder.WorkOrder, execution int, shadow bool, scfg score.Config) ([]*cycle, error) {
	recs, err := e.deps.WorkOrders.Cycles(ctx, wo.ID, execution, shadow)
	if err != nil {
		return nil, err
	}
	var out []*cycle
	for _, r := range recs {
		c := &cycle{TestsOptional: wo.TestsOptional, HiddenTests: wo.Acceptance.Hidden(), N: r.Cycle, TreeHash: r.TreeHash}
		c.Proposal.Model, c.Proposal.Text = r.Model, r.RawProposal
		c.Proposal.InputTokens, c.Proposal.OutputTokens, c.Proposal.CostUSD, c.Proposal.FinishReason = r.InputTokens, r.OutputTokens, r.CostUSD, r.FinishReason
		c.Proposal.CacheReadInputTokens, c.Proposal.CacheWriteInputTokens = r.CacheReadInputTokens, r.CacheWriteInputTokens
		c.Duration = time.Duration(r.DurationMS) * time.Millisecond
		_ = json.Unmarshal(r.EditFindings, &c.EditFindings)
		_ = json.Unmarshal(r.ChangedFiles, &c.Changed)
		_ = json.Unmarshal(r.Validations, &c.Reports)
		if len(r.Acceptance) > 0 && string(r.Acceptance) != "null" {
			c.Acceptance = &acceptance.Report{}
			_ = json.Unmarshal(r.Acceptance, c.Acceptance)
		}
		edits, _ := edit.Parse(c.Proposal.Text)
		c.Edits = edits
		c.Applied = len(c.Changed)
		c.Score = score.Compute(scfg, scoreInput(c))
		out = append(out, c)
	}
	return out, nil
}

func nonNil(f []Finding) []Finding {
	if f == nil {
		return []Finding{}
	}
	return f
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilR(r []Report) []Report {
	if r == nil {
		return []Report{}
	}
	return r
}

var _ = pgx.ErrNoRows
