package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/moosehq/moose/server/internal/node"
	"github.com/moosehq/moose/server/internal/workorder"
)

// reconcileLock is the advisory lock one node at a time holds to reconcile.
const reconcileLock int64 = 0x6d6f6f7365726563 // "mooserec"

// stuckAfter is how long a work order in progress must have been quiet, with
// no live job, before the reconciler repairs it.
const stuckAfter = 30 * time.Second

// fenceValid fails when this node's lease no longer lets it record work.
func (e *Engine) fenceValid() error {
	if e.deps.Node == nil {
		return nil
	}
	return e.deps.Node.Valid()
}

// fenceTx fails a transaction that records work when this node's lease no
// longer holds in the database.
func (e *Engine) fenceTx(ctx context.Context, tx pgx.Tx) error {
	if e.deps.Node == nil {
		return nil
	}
	return e.deps.Node.CheckTx(ctx, tx)
}

// fenced handles an execution stopped by its node's lease. The worker must
// not finish the job either way: if another node took it over, completing it
// here would overwrite that node's run. So it waits: for the lease to be
// lost (moosed then exits and the job is the other node's), or renewed
// (nobody took over: the job is re-queued and resumes from its stored
// cycles), or for ctx to end (shutdown).
func (e *Engine) fenced(ctx context.Context, id uuid.UUID, cause error) error {
	e.log.Warn("execution stopped: this node's lease lapsed", "work_order", id, "err", cause)
	n := e.deps.Node
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.Lost():
			<-ctx.Done()
			return river.JobSnooze(0)
		case <-ctx.Done():
			return river.JobSnooze(0)
		case <-t.C:
			if n.Valid() == nil {
				return river.JobSnooze(0)
			}
		}
	}
}

// reconcileLoop runs Reconcile every third of a lease (at most every 10 s)
// until ctx ends.
func (e *Engine) reconcileLoop(ctx context.Context) {
	every := min(e.deps.Node.Lease()/3, 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.Reconcile(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("reconcile", "err", err)
		}
	}
}

// Reconcile makes one pass of the cluster's repairs, on one node at a time:
//
//   - a node whose lease has passed is dead: the jobs it was running are
//     made available to the others (they resume from their stored cycles)
//     and its row is removed, which fences it should it come back;
//   - a work order in progress with no live job (its job finished, was
//     discarded or vanished without the work order reaching an end) is
//     re-queued while attempts remain, and failed with the reason otherwise.
//
// Each repair leaves an event on the work order. A node judges others only
// once its own lease is settled.
func (e *Engine) Reconcile(ctx context.Context) error {
	if e.deps.Node == nil || !e.deps.Node.Settled() {
		return nil
	}
	var failed []uuid.UUID
	err := pgx.BeginFunc(ctx, e.deps.Pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, reconcileLock).Scan(&locked); err != nil {
			return fmt.Errorf("reconciler lock: %w", err)
		}
		if !locked {
			return nil // another node reconciles now
		}
		if err := e.reapTx(ctx, tx); err != nil {
			return err
		}
		var err error
		failed, err = e.repairStuckTx(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range failed {
		e.observeCrash(ctx, id)
	}
	return nil
}

// reapTx re-queues the jobs of dead nodes and removes them.
func (e *Engine) reapTx(ctx context.Context, tx pgx.Tx) error {
	dead, err := node.ExpiredTx(ctx, tx, e.deps.Node.ID())
	if err != nil {
		return err
	}
	for _, d := range dead {
		rows, err := tx.Query(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
			WHERE state = 'running' AND attempted_by[array_length(attempted_by, 1)] = $1
			RETURNING kind, coalesce(args->>'work_order_id', '')`, d.ID)
		if err != nil {
			return fmt.Errorf("re-queue jobs of node %s: %w", d.ID, err)
		}
		type taken struct{ kind, wo string }
		jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (taken, error) {
			var j taken
			err := r.Scan(&j.kind, &j.wo)
			return j, err
		})
		if err != nil {
			return fmt.Errorf("re-queue jobs of node %s: %w", d.ID, err)
		}
		for _, j := range jobs {
			id, err := uuid.Parse(j.wo)
			if err != nil || j.kind != (executeArgs{}).Kind() {
				continue
			}
			if err := e.deps.WorkOrders.AppendEventTx(ctx, tx, workorder.Event{WorkOrderID: id, Type: workorder.EventInfo,
				Message: fmt.Sprintf("node %s stopped renewing its lease (expired %s); its execution was re-queued for another node",
					d.ID, d.LeaseUntil.UTC().Format(time.RFC3339)),
				Data: map[string]string{"dead_node": d.ID}}); err != nil {
				return err
			}
		}
		if err := node.RemoveTx(ctx, tx, d); err != nil {
			return err
		}
		e.log.Warn("took over a dead node's work", "dead_node", d.ID, "lease_until", d.LeaseUntil, "jobs", len(jobs))
	}
	return nil
}

// liveJob reports whether a job in state s may still finish its work order.
func liveJob(s rivertype.JobState) bool {
	switch s {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		return false
	}
	return true
}

// repairStuckTx re-queues or fails work orders in progress without a live
// job; it returns the ones it failed.
func (e *Engine) repairStuckTx(ctx context.Context, tx pgx.Tx) ([]uuid.UUID, error) {
	quiet, err := e.deps.WorkOrders.QuietInProgressTx(ctx, tx, stuckAfter)
	if err != nil {
		return nil, err
	}
	var failed []uuid.UUID
	for _, w := range quiet {
		var job *rivertype.JobRow
		if w.JobID != nil {
			job, err = e.client.JobGetTx(ctx, tx, *w.JobID)
			if err != nil && !errors.Is(err, river.ErrNotFound) {
				return nil, fmt.Errorf("job of work order %s: %w", w.ID, err)
			}
			if job != nil && liveJob(job.State) {
				continue
			}
		}
		msg := ""
		switch {
		case job == nil:
			res, err := e.client.InsertTx(ctx, tx, executeArgs{WorkOrderID: w.ID, Execution: w.Execution}, &river.InsertOpts{
				UniqueOpts: river.UniqueOpts{ByArgs: true}})
			if err != nil {
				return nil, fmt.Errorf("re-queue work order %s: %w", w.ID, err)
			}
			if err := e.deps.WorkOrders.SetJobTx(ctx, tx, w.ID, res.Job.ID); err != nil {
				return nil, err
			}
			msg = fmt.Sprintf("execution %d had no job; the reconciler re-queued it", w.Execution)
		case job.Attempt < job.MaxAttempts:
			if _, err := e.client.JobRetryTx(ctx, tx, job.ID); err != nil {
				return nil, fmt.Errorf("re-queue work order %s: %w", w.ID, err)
			}
			msg = fmt.Sprintf("execution %d ended without a result (job %s after attempt %d of %d); the reconciler re-queued it",
				w.Execution, job.State, job.Attempt, job.MaxAttempts)
		default:
			reason := fmt.Sprintf("execution %d ended without a result after its last attempt (job %s, attempt %d of %d)",
				w.Execution, job.State, job.Attempt, job.MaxAttempts)
			if err := e.failTx(ctx, tx, w.ID, errors.New(reason)); err != nil {
				return nil, err
			}
			failed = append(failed, w.ID)
			msg = "the reconciler failed the work order: " + reason
		}
		if err := e.deps.WorkOrders.AppendEventTx(ctx, tx, workorder.Event{WorkOrderID: w.ID, Type: workorder.EventInfo, Message: msg,
			Data: map[string]string{"reconciled": "true"}}); err != nil {
			return nil, err
		}
		e.log.Warn("repaired a stuck work order", "work_order", w.ID, "what", msg)
	}
	return failed, nil
}
