package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/moosehq/moose/server/internal/fault"
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

// Timeout leaves a shadow run's time to its budget, as for executions.
func (w *shadowWorker) Timeout(*river.Job[shadowArgs]) time.Duration { return -1 }

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
	err = e.withinBudget(ctx, r, func(ctx context.Context) error { return e.runCycles(ctx, r) })
	if r.ws != nil {
		r.ws.Release()
	}
	outcome := Outcome{VariantID: job.Args.VariantID, Shadow: true}
	var msg string
	switch {
	case err == nil:
		last, top := r.cycles[len(r.cycles)-1], best(r.cycles)
		outcome.Score, outcome.Passed = top.Score.Overall, top.Score.Passed
		for _, c := range r.cycles {
			outcome.CostUSD += c.Proposal.CostUSD
		}
		msg = fmt.Sprintf("shadow candidate %s scored %.1f/10 after %d cycle(s)", r.variant, top.Score.Overall, last.N)
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
