package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/moosehq/moose/server/internal/edit"
	"github.com/moosehq/moose/server/internal/score"
	"github.com/moosehq/moose/server/internal/workorder"
	"github.com/moosehq/moose/server/internal/workspace"
)

// scoreInput turns the last cycle's validator reports into the scoring
// function's input.
func scoreInput(c *cycle) score.Input {
	in := score.Input{EditsApplied: c.Applied, ChangedFiles: c.Changed, Coverage: -1, LinesAdded: c.LinesAdded, LinesRemoved: c.LinesRemoved,
		TestsOptional: c.TestsOptional}
	for _, f := range c.EditFindings {
		if f.Category == edit.CategoryAlreadyApplied {
			continue // nothing is wrong with the tree
		}
		in.EditFindings = append(in.EditFindings, scoreFinding(f))
	}
	for _, r := range c.Reports {
		for _, k := range r.Contributions {
			in.Contributions = append(in.Contributions, score.Contribution{Source: r.Validator, Dimension: k.Dimension, Score: k.Score, Weight: k.Weight, Reasons: k.Reasons})
		}
		switch r.Validator {
		case "build":
			in.BuildRan, in.BuildPassed = !r.Skipped, r.Passed
			in.TypecheckRan, in.TypecheckPassed = !r.Skipped, r.Passed
			for _, f := range r.Findings {
				in.BuildFindings = append(in.BuildFindings, scoreFinding(f))
			}
		case "test":
			in.TestsRan = !r.Skipped
			in.TestsSucceeded = r.Passed && !r.Skipped
			in.TestsTotal, in.TestsPassed, in.TestsFailed, in.TestsSkipped = r.TestsTotal, r.TestsPassed, r.TestsFailed, r.TestsSkipped
			if r.Coverage >= 0 {
				in.Coverage, in.CoverageMeasured = r.Coverage, true
			}
			in.TestsAdded = r.TestsAdded
			var survivors []score.Finding
			for _, f := range r.Findings {
				if f.Category == score.CategorySurvivingMutant {
					survivors = append(survivors, scoreFinding(f))
					continue
				}
				in.TestFindings = append(in.TestFindings, scoreFinding(f))
			}
			if m := r.Mutation; m != nil && !r.Skipped {
				in.Mutation = &score.Mutation{Measured: m.Measured, Reason: m.Reason, Run: m.Run, Killed: m.Killed,
					Exhausted: m.Exhausted, Survivors: survivors}
				for _, f := range m.Functions {
					in.Mutation.Functions = append(in.Mutation.Functions, score.MutatedFunction{File: f.File, Name: f.Name, Line: f.Line,
						Reached: f.Reached, GateMeasured: f.GateMeasured, GateKilled: f.GateKilled})
				}
			}
		case "static":
			for _, f := range r.Findings {
				in.StaticFindings = append(in.StaticFindings, scoreFinding(f))
			}
		default:
			for _, f := range r.Findings {
				in.LintFindings = append(in.LintFindings, scoreFinding(f))
			}
		}
	}
	in.Acceptance = acceptanceInput(c, c.HiddenTests)
	if a := c.Acceptance; a != nil && len(a.Excused) > 0 {
		// Every failure of the proposal's own run was already failing (or
		// flaky) at the base commit: not the change's fault.
		in.TestsSucceeded, in.TestsFailed = true, 0
		in.TestsPassed = max(in.TestsPassed, in.TestsTotal-len(a.Excused))
		var kept []score.Finding
		for _, f := range in.TestFindings {
			if f.Category != "test_failure" {
				kept = append(kept, f)
			}
		}
		in.TestFindings = kept
	}
	return in
}

// scoreCategories maps validator category names onto the scoring function's.
var scoreCategories = map[string]string{"todo_marker": score.CategoryTODO}

func scoreFinding(f Finding) score.Finding {
	cat := f.Category
	if c, ok := scoreCategories[cat]; ok {
		cat = c
	}
	return score.Finding{File: f.File, Line: f.Line, Category: cat, Severity: f.Severity, Message: f.Message}
}

// finish takes the best cycle's result (ws holds its tree), publishes, and
// moves the work order to its terminal state with the result, in one
// transaction.
// A shadow run, if the work order's experiment asks for one, is enqueued in
// the same transaction, so it is never lost to a crash.
func (e *Engine) finish(ctx context.Context, wo *workorder.WorkOrder, project *workorder.Project, ws *workspace.Workspace, variant uuid.UUID, cycles []*cycle, shadow *shadowArgs) error {
	last, top := cycles[len(cycles)-1], best(cycles)
	sc := top.Score
	res := workorder.Result{
		OverallScore: sc.Overall,
		Passed:       sc.Passed,
		BuildPassed:  top.buildPassed(),
		TestsPassed:  top.testsPassed(),
		Cycles:       last.N,
	}
	if r := top.report("test"); r != nil {
		res.TestsTotal, res.TestsFailed = r.TestsTotal, r.TestsFailed
	}
	res.Acceptance = top.Acceptance
	// Every stored cycle of this execution counts, those of an interrupted
	// earlier attempt too: they cost money as well.
	u, err := e.deps.WorkOrders.ExecutionCost(ctx, wo.ID)
	if err != nil {
		return err
	}
	res.CostUSD, res.InputTokens, res.OutputTokens = u.CostUSD, u.InputTokens, u.OutputTokens
	res.CacheReadInputTokens, res.CacheWriteInputTokens = u.CacheReadInputTokens, u.CacheWriteInputTokens
	for _, d := range sc.Dimensions {
		res.Dimensions = append(res.Dimensions, workorder.Dimension{Name: d.Name, Score: d.Score, Weight: d.Weight, Reasons: d.Reasons})
	}
	if !sc.Passed {
		res.FailureReason = failureReason(top)
	}
	e.phase(ctx, wo.ID, PhaseScoring, fmt.Sprintf("overall %.1f/10 (%s), cycle %d of %d", sc.Overall, passWord(sc.Passed), top.N, last.N),
		map[string]string{"overall": fmt.Sprintf("%.1f", sc.Overall), "best_cycle": fmt.Sprint(top.N)})
	outcome := "needs_review"
	op := workorder.OpReview
	if sc.Passed {
		outcome, op = "completed", workorder.OpComplete
	}
	var published *workorder.Event
	if e.deps.Publisher != nil && top.Applied > 0 {
		// A node that may have lost its work to another must not publish.
		if err := e.fenceValid(); err != nil {
			return err
		}
		e.phase(ctx, wo.ID, PhasePublishing, "publishing the change", nil)
		pub, err := e.deps.Publisher.Publish(ctx, project.RepoURL, PublishRequest{
			WorkOrderID: wo.ID, Dir: ws.Dir(), BaseCommit: ws.BaseCommit(), Branch: BranchFor(wo.ID),
			Title: wo.Title, Body: PullRequestBody(wo, res, variant), Outcome: outcome,
		})
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		res.PullRequestURL, res.PullRequestNumber, res.Branch = pub.URL, pub.Number, pub.Branch
		published = &workorder.Event{WorkOrderID: wo.ID, Type: workorder.EventPhase, Phase: PhasePublishing, Message: "published " + pub.URL,
			Data: map[string]string{"url": pub.URL, "branch": pub.Branch, "number": fmt.Sprint(pub.Number)}}
	}
	// The "published" event commits with the result and the final transition:
	// a crash before this point republishes (idempotently) and records it once.
	err = pgx.BeginFunc(ctx, e.deps.Pool, func(tx pgx.Tx) error {
		if err := e.fenceTx(ctx, tx); err != nil {
			return err
		}
		if published != nil {
			if err := e.deps.WorkOrders.AppendEventTx(ctx, tx, *published); err != nil {
				return err
			}
		}
		if err := e.deps.WorkOrders.SetResultTx(ctx, tx, wo.ID, res); err != nil {
			return err
		}
		if _, err := e.deps.WorkOrders.TransitionTx(ctx, tx, wo.ID, op, fmt.Sprintf("scored %.1f/10 after %d cycle(s) (best: cycle %d)", sc.Overall, last.N, top.N), nil); err != nil {
			return err
		}
		if shadow != nil {
			if _, err := e.client.InsertTx(ctx, tx, *shadow, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}); err != nil {
				return fmt.Errorf("enqueue shadow run: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		if published != nil && e.cancelled(wo.ID) {
			// Cancelled while publishing: the close job saw no publication yet,
			// so close what this execution just opened.
			if closer, ok := e.deps.Publisher.(PullRequestCloser); ok {
				if cerr := closer.Close(context.WithoutCancel(ctx), project.RepoURL, wo.ID); cerr != nil {
					e.log.Warn("close pull request of a work order cancelled while publishing", "work_order", wo.ID, "err", cerr)
				}
			}
		}
		return err
	}
	if e.deps.Experiments != nil {
		if err := e.deps.Experiments.Observe(ctx, wo.ID, Outcome{VariantID: variant, Score: sc.Overall, Passed: sc.Passed, CostUSD: res.CostUSD}); err != nil {
			e.log.Warn("record experiment observation", "work_order", wo.ID, "err", err)
		}
	}
	return nil
}

// failureReason says why a cycle fell short: its decisive failure first
// (the failing test or compiler error, at its file:line), then every gate.
func failureReason(c *cycle) string {
	d, gate := decisive(c), c.Score.Gate
	switch {
	case d == "":
		return gate
	case gate == "":
		return fmt.Sprintf("cycle %d: %s", c.N, d)
	default:
		return fmt.Sprintf("cycle %d: %s (%s)", c.N, d, gate)
	}
}

func passWord(p bool) string {
	if p {
		return "passed"
	}
	return "below the bar"
}

// BranchFor is the branch a work order's change is published on.
func BranchFor(id uuid.UUID) string { return "moose/wo-" + id.String()[:8] }

// PullRequestBody renders the evidence a reviewer needs.
func PullRequestBody(wo *workorder.WorkOrder, r workorder.Result, variant uuid.UUID) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Work order\n\n**%s** (`%s`, complexity %d)\n\n%s\n\n", wo.Title, wo.ID, wo.Complexity, wo.Description)
	if len(wo.AcceptanceCriteria) > 0 {
		b.WriteString("### Acceptance criteria\n\n")
		for _, c := range wo.AcceptanceCriteria {
			fmt.Fprintf(&b, "- %s\n", c)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "## Score: %.1f/10 (%s)\n\n| dimension | score | reasons |\n|---|---|---|\n", r.OverallScore, passWord(r.Passed))
	for _, d := range r.Dimensions {
		fmt.Fprintf(&b, "| %s | %.1f | %s |\n", d.Name, d.Score, strings.ReplaceAll(strings.Join(d.Reasons, "; "), "|", "\\|"))
	}
	fmt.Fprintf(&b, "\n## Build and tests\n\n- build: %s\n- tests: %s (%d run, %d failed)\n\n", okWord(r.BuildPassed), okWord(r.TestsPassed), r.TestsTotal, r.TestsFailed)
	if a := r.Acceptance; a != nil {
		b.WriteString(acceptanceSection(a))
	}
	fmt.Fprintf(&b, "## Provenance\n\n- variant: `%s`\n- cycles: %d\n- cost: $%.4f (%d input, %d output tokens)\n", variant, r.Cycles, r.CostUSD, r.InputTokens, r.OutputTokens)
	return b.String()
}

func okWord(ok bool) string {
	if ok {
		return "passed"
	}
	return "failed"
}

// readSmall reads a file of the worktree for the prompt, refusing large ones.
func readSmall(dir, rel string) (string, error) {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 64<<10 {
		return "", fmt.Errorf("skip %s", rel)
	}
	b, err := os.ReadFile(p)
	return string(b), err
}
