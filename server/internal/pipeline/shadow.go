package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

// shadowArgs is a shadow run: an experiment's candidate on a copy of a work
// order the baseline served. It is validated and scored like the real thing,
// never published, and never changes the work order's status.
type shadowArgs struct {
	WorkOrderID uuid.UUID `json:"work_order_id"`
	Execution   int       `json:"execution"`
	VariantID   uuid.UUID `json:"variant_id"`
}

func (shadowArgs) Kind() string { return "shadow_run" }

type shadowWorker struct {
	river.WorkerDefaults[shadowArgs]
	e *Engine
}

func (w *shadowWorker) Work(ctx context.Context, job *river.Job[shadowArgs]) error {
	e := w.e
	wo, err := e.deps.WorkOrders.Get(ctx, job.Args.WorkOrderID)
	if err != nil {
		return err
	}
	project, err := e.deps.WorkOrders.GetProject(ctx, wo.ProjectID)
	if err != nil {
		return err
	}
	r := &run{wo: wo, project: project, variant: job.Args.VariantID, execution: job.Args.Execution, shadow: true}
	err = e.runCycles(ctx, r)
	if r.ws != nil {
		r.ws.Release()
	}
	outcome := Outcome{VariantID: job.Args.VariantID, Shadow: true}
	var msg string
	switch {
	case err == nil:
		last := r.cycles[len(r.cycles)-1]
		outcome.Score, outcome.Passed = last.Score.Overall, last.Score.Passed
		for _, c := range r.cycles {
			outcome.CostUSD += c.Proposal.CostUSD
		}
		msg = fmt.Sprintf("shadow candidate %s scored %.1f/10 after %d cycle(s)", r.variant, last.Score.Overall, last.N)
	case ctx.Err() != nil:
		return err
	case job.Attempt < job.MaxAttempts && !errors.Is(err, fault.ErrFailedPrecondition):
		return err
	default:
		outcome.Crashed = true
		msg = "shadow candidate crashed: " + err.Error()
	}
	if e.deps.Experiments != nil {
		if err := e.deps.Experiments.Observe(ctx, wo.ID, outcome); err != nil {
			return fmt.Errorf("record shadow outcome: %w", err)
		}
	}
	// Recorded once the outcome counts, so a retried job does not repeat it.
	e.phase(context.WithoutCancel(ctx), wo.ID, "shadow_scoring", msg, nil)
	if outcome.Crashed {
		return river.JobCancel(err)
	}
	return nil
}

// closeArgs closes a cancelled work order's pull request. It is enqueued in
// the cancelling transaction, so the request survives a crash.
type closeArgs struct {
	WorkOrderID uuid.UUID `json:"work_order_id"`
	RepoURL     string    `json:"repo_url"`
}

func (closeArgs) Kind() string { return "close_pull_request" }

type closeWorker struct {
	river.WorkerDefaults[closeArgs]
	e *Engine
}

func (w *closeWorker) Work(ctx context.Context, job *river.Job[closeArgs]) error {
	closer, ok := w.e.deps.Publisher.(PullRequestCloser)
	if !ok {
		return nil
	}
	if err := closer.Close(ctx, job.Args.RepoURL, job.Args.WorkOrderID); err != nil {
		if errors.Is(err, fault.ErrFailedPrecondition) {
			return river.JobCancel(err)
		}
		return err
	}
	return w.e.deps.WorkOrders.AppendEvent(ctx, eventClosed(job.Args.WorkOrderID))
}

// PullRequestCloser is implemented by publishers that can close a work
// order's pull request when it is cancelled.
type PullRequestCloser interface {
	Close(ctx context.Context, projectRepo string, workOrderID uuid.UUID) error
}

func (e *Engine) enqueueCloseTx(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	if _, ok := e.deps.Publisher.(PullRequestCloser); !ok {
		return nil
	}
	// Any execution may have published (a retry clears the result while it
	// runs), so the events, not the current result, say whether a PR exists.
	var repo string
	var published bool
	err := tx.QueryRow(ctx, `SELECT p.repo_url, EXISTS (SELECT 1 FROM work_order_events e
			WHERE e.work_order_id = w.id AND e.phase = $2 AND e.data ? 'url')
		FROM work_orders w JOIN projects p ON p.id = w.project_id WHERE w.id = $1`, id, PhasePublishing).Scan(&repo, &published)
	if err != nil {
		return fmt.Errorf("find project of work order: %w", err)
	}
	if !published {
		return nil
	}
	_, err = e.client.InsertTx(ctx, tx, closeArgs{WorkOrderID: id, RepoURL: repo}, nil)
	return err
}

func eventClosed(id uuid.UUID) workorder.Event {
	return workorder.Event{WorkOrderID: id, Type: "info", Phase: PhasePublishing, Message: "pull request closed (work order cancelled)"}
}
