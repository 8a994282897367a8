package pipeline

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

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
	repo, published, err := e.deps.WorkOrders.PublishedTx(ctx, tx, id, PhasePublishing)
	if err != nil {
		return err
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
