package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
	"github.com/moosehq/moose/server/internal/workspace"
)

// warmQueue runs project warm-ups, one at a time per node, beside the
// executions' queue: a warm-up never takes an execution's slot.
const warmQueue = "warm"

// warmArgs is the job that warms a newly registered project up: a worktree
// of its default branch, then the branch's tests run as a baseline
// (DefaultBaselineRepeats times, sandboxed like any validation). That fills
// the project's build cache and stores the base commit's baseline, the two
// costs a project's first work order would otherwise pay.
type warmArgs struct {
	ProjectID uuid.UUID `json:"project_id"`
}

func (warmArgs) Kind() string { return "warm_project" }

type warmWorker struct {
	river.WorkerDefaults[warmArgs]
	e *Engine
}

// Warms reports whether new projects are warmed up (Config.WarmProjects);
// with Warmer it lets the work-order service enqueue the warm-up in the
// transaction that registers the project.
func (e *Engine) Warms() bool { return e.cfg.WarmProjects }

// WarmTx enqueues project p's warm-up inside tx.
func (e *Engine) WarmTx(ctx context.Context, tx pgx.Tx, p *workorder.Project) error {
	_, err := e.client.InsertTx(ctx, tx, warmArgs{ProjectID: p.ID}, &river.InsertOpts{
		Queue: warmQueue, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		return fmt.Errorf("enqueue project warm-up: %w", err)
	}
	return nil
}

// Timeout leaves a warm-up's time to its own budget (warm sets it).
func (w *warmWorker) Timeout(*river.Job[warmArgs]) time.Duration { return -1 }

// Work warms the project up and records how it went on the project. A
// failed warm-up is not retried (the first work order does the same work,
// and says what failed); one interrupted by shutdown is re-queued.
func (w *warmWorker) Work(ctx context.Context, job *river.Job[warmArgs]) error {
	e := w.e
	p, err := e.deps.WorkOrders.GetProject(ctx, job.Args.ProjectID)
	if errors.Is(err, fault.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if err := e.deps.WorkOrders.SetWarm(ctx, p.ID, workorder.WarmRunning, ""); err != nil {
		return err
	}
	msg, err := e.warm(ctx, p)
	bg := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		e.log.Info("project warmed up", "project", p.ID, "result", msg)
		return e.deps.WorkOrders.SetWarm(bg, p.ID, workorder.WarmReady, msg)
	case ctx.Err() != nil:
		_ = e.deps.WorkOrders.SetWarm(bg, p.ID, workorder.WarmPending, "interrupted by shutdown; re-queued")
		return river.JobSnooze(0)
	}
	e.log.Warn("project warm-up failed", "project", p.ID, "err", err)
	_ = e.deps.WorkOrders.SetWarm(bg, p.ID, workorder.WarmFailed, err.Error())
	return river.JobCancel(err)
}

// warm runs p's warm-up and says what it found.
func (e *Engine) warm(ctx context.Context, p *workorder.Project) (string, error) {
	if e.deps.Baselines == nil {
		return "", errors.New("this node keeps no baselines")
	}
	r := &run{project: p}
	build, test := r.timeouts(e.cfg)
	ctx, cancel := context.WithTimeout(ctx, 2*test+build+setUp+budgetSlack)
	defer cancel()
	began := time.Now()
	ws, err := e.deps.Workspaces.Acquire(ctx, workspace.Project{ID: p.ID.String(), RepoURL: p.RepoURL, Branch: p.DefaultBranch}, "")
	if err != nil {
		return "", fmt.Errorf("worktree of %s: %w", p.DefaultBranch, err)
	}
	defer ws.Release()
	pinfo := projectInfo(p)
	// The build step first, as a candidate's validation runs it (for Go:
	// build and the whole of vet, which the tests' own vet subset does not
	// cache), then the baseline, which compiles the tests with coverage as
	// the candidates' test runs will.
	var notes []string
	if slices.Contains(e.cfg.Validators, "build") {
		passed, err := e.warmBuild(ctx, ws, p, pinfo, build)
		if err != nil {
			return "", err
		}
		if !passed {
			notes = append(notes, "the build step failed at this commit")
		}
	}
	spec := baselineSpec{project: p, base: ws.BaseCommit(), key: baselineKey(r, e.cfg, pinfo), pinfo: pinfo, build: build, test: test}
	b, err := e.baselineOnce(ctx, spec, func(ctx context.Context) (*acceptance.Baseline, error) { return e.measureIn(ctx, ws, spec) })
	if err != nil {
		return "", err
	}
	if b.Reused {
		notes = append(notes, "its baseline was already measured")
	} else if b.BuildPassed {
		notes = append(notes, fmt.Sprintf("its tests built; %d passing, %d failing, %d flaky tests over %d runs", len(b.Passing), len(b.Failing), len(b.Flaky), b.Repeats))
	} else {
		notes = append(notes, "its tests did not build")
	}
	return fmt.Sprintf("base commit %.12s: %s; %s in all", b.BaseCommit, strings.Join(notes, "; "), time.Since(began).Round(time.Millisecond)), nil
}

// warmBuild runs the build validator on a throwaway view of ws, filling the
// project's build cache; it reports whether the build passed.
func (e *Engine) warmBuild(ctx context.Context, ws *workspace.Workspace, p *workorder.Project, pinfo ProjectInfo, limit time.Duration) (bool, error) {
	view, err := ws.View(ctx, workspace.ViewLimits{WriteBytes: e.cfg.Limits.WriteBytes, TmpBytes: e.cfg.Limits.TmpBytes})
	if err != nil {
		return false, fmt.Errorf("build view: %w", err)
	}
	defer func() { _ = view.Close() }()
	cacheDir, err := e.projectCacheDir(ctx, p.ID)
	if err != nil {
		return false, err
	}
	rep, err := e.deps.Validator.Validate(ctx, "build", ValidateRequest{Dir: view.Dir, Project: pinfo, Timeout: limit,
		TempDir: view.TmpDir, CacheDir: cacheDir, Limits: e.cfg.Limits, Mutation: MutationBudget{Disabled: true}})
	if err != nil {
		return false, fmt.Errorf("build step: %w", err)
	}
	return rep.Passed, nil
}

// projectInfo is what validators are told of p.
func projectInfo(p *workorder.Project) ProjectInfo {
	return ProjectInfo{Language: p.Language, Preset: p.Preset, BuildCommand: p.BuildCommand,
		TestCommand: p.TestCommand, TypecheckCommand: p.TypecheckCommand}
}
