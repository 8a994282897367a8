package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/sync/singleflight"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/buildcache"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/node"
	"github.com/moosehq/moose/server/internal/routing"
	"github.com/moosehq/moose/server/internal/score"
	"github.com/moosehq/moose/server/internal/workorder"
	"github.com/moosehq/moose/server/internal/workspace"
)

// Config tunes execution.
type Config struct {
	// Concurrency is how many work orders this node executes at once (default 15).
	Concurrency int
	// MaxRefinements is how many extra cycles a failing proposal gets (0: the
	// default, 2; negative: none).
	MaxRefinements int
	// Validators run in order on every cycle (default build, test, static).
	Validators []string
	// ValidatorTimeout bounds the commands of a validator other than build
	// and test (0: the run's build limit; they compile or analyse the code).
	ValidatorTimeout time.Duration
	// BuildTimeout and TestTimeout are the default time limits of the build
	// validator's commands and of the test command (default 5m each); a
	// project's or a work order's own limits take precedence.
	BuildTimeout, TestTimeout time.Duration
	// ClientID identifies this node's job client; it must be stable across
	// restarts of the same node so that its interrupted jobs are re-queued at
	// once when it comes back.
	ClientID string
	// ProposeTimeout is the limit of one proposer call (default 5m); it
	// counts towards an execution's time budget.
	ProposeTimeout time.Duration
	// JobTimeout, when set, is the time budget of every execution; by
	// default each execution's budget follows its own limits (see budget).
	JobTimeout time.Duration
	// RescueAfter is when the job queue itself re-queues a job still marked
	// running (default: the largest budget any work order can have, plus
	// 5m). Node leases take a dead node's work over long before; this is the
	// last resort.
	RescueAfter time.Duration
	// WarmProjects warms every newly registered project up (see warmArgs).
	WarmProjects bool
	// InsertOnly schedules and cancels jobs but works none (an API-only node).
	InsertOnly bool
	// MaxAttempts is how often a failing execution is retried before the work order fails (default 5).
	MaxAttempts int
	// Score configures the scoring function.
	Score score.Config
	// ContextBudget caps the project context sent to proposers, in bytes (default 64 KiB).
	ContextBudget int
	// Limits bound what validation of generated code may use.
	Limits Limits
	// Mutation is the test-strength budget sent to validators (zero: their
	// defaults, 20 mutants and 30 s).
	Mutation MutationBudget
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 15
	}
	if c.MaxRefinements == 0 {
		c.MaxRefinements = 2
	}
	if c.MaxRefinements < 0 {
		c.MaxRefinements = 0
	}
	if c.Validators == nil {
		c.Validators = []string{"build", "test", "static"}
	}
	if c.BuildTimeout == 0 {
		c.BuildTimeout = 5 * time.Minute
	}
	if c.TestTimeout == 0 {
		c.TestTimeout = 5 * time.Minute
	}
	if c.ProposeTimeout == 0 {
		c.ProposeTimeout = 5 * time.Minute
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = c.budget(workorder.MaxTimeout, workorder.MaxTimeout) + 5*time.Minute
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.Score.PassThreshold == 0 {
		c.Score = score.DefaultConfig()
	}
	if c.ContextBudget == 0 {
		c.ContextBudget = 64 << 10
	}
}

// Deps are the parts an Engine drives.
type Deps struct {
	Pool        *pgxpool.Pool
	WorkOrders  *workorder.Service
	Router      *routing.Router
	Workspaces  *workspace.Manager
	Caches      *buildcache.Manager // optional: without it validators use private, throwaway caches
	Proposer    Proposer
	Validator   Validator
	Publisher   Publisher   // optional
	Experiments Experiments // optional
	// Node is this node's cluster membership (optional). With it, every
	// stored cycle, publication and final result is fenced by the node's
	// lease, and the engine reaps dead nodes and repairs stuck work orders.
	Node *node.Node
	// Baselines keeps the base commits' test baselines (optional: without it
	// no acceptance tests or baselines run).
	Baselines *acceptance.Store
	Logger    *slog.Logger
}

// Engine executes approved work orders as durable jobs.
type Engine struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	client *river.Client[pgx.Tx]

	// running holds the ids of the execute jobs this node's workers run now.
	runningMu sync.Mutex
	running   map[int64]struct{}

	stopReconcile context.CancelFunc
	// measuring runs one measurement of a baseline at a time (baselineOnce).
	measuring singleflight.Group
}

// executeArgs is the job: one execution of one work order.
type executeArgs struct {
	WorkOrderID uuid.UUID `json:"work_order_id"`
	Execution   int       `json:"execution"`
}

func (executeArgs) Kind() string { return "execute_work_order" }

type executeWorker struct {
	river.WorkerDefaults[executeArgs]
	e *Engine
}

// New builds an Engine; Start begins working jobs.
func New(deps Deps, cfg Config) (*Engine, error) {
	cfg.setDefaults()
	if err := cfg.Score.Validate(); err != nil {
		return nil, fmt.Errorf("score config: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, deps: deps, log: log, running: map[int64]struct{}{}}
	workers := river.NewWorkers()
	if err := errors.Join(
		river.AddWorkerSafely(workers, &executeWorker{e: e}),
		river.AddWorkerSafely(workers, &shadowWorker{e: e}),
		river.AddWorkerSafely(workers, &closeWorker{e: e}),
		river.AddWorkerSafely(workers, &warmWorker{e: e}),
	); err != nil {
		return nil, fmt.Errorf("register workers: %w", err)
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}, warmQueue: {MaxWorkers: 1}}
	if cfg.InsertOnly {
		queues = nil
	}
	client, err := river.NewClient(riverpgxv5.New(deps.Pool), &river.Config{
		ID:                   cfg.ClientID,
		Queues:               queues,
		Workers:              workers,
		JobTimeout:           otherJobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		MaxAttempts:          cfg.MaxAttempts,
		FetchCooldown:        20 * time.Millisecond,
		RetryPolicy:          retryPolicy{},
		FetchPollInterval:    500 * time.Millisecond,
		Logger:               log.With("component", "jobs"),
	})
	if err != nil {
		return nil, fmt.Errorf("create job client: %w", err)
	}
	e.client = client
	return e, nil
}

// Start re-queues jobs this node was running when it last died, then starts
// working. It returns once the job client runs.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.InsertOnly {
		return nil
	}
	if e.cfg.ClientID != "" {
		// A job still "running" under our own id cannot be running: we just
		// started. Make it available now instead of waiting for the rescuer.
		tag, err := e.deps.Pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
			WHERE state = 'running' AND kind = $1 AND attempted_by[array_length(attempted_by, 1)] = $2`,
			executeArgs{}.Kind(), e.cfg.ClientID)
		if err != nil {
			return fmt.Errorf("re-queue interrupted jobs: %w", err)
		}
		if n := tag.RowsAffected(); n > 0 {
			e.log.Info("re-queued executions interrupted by a previous crash", "count", n)
		}
	}
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("start job client: %w", err)
	}
	if e.deps.Node != nil {
		rctx, cancel := context.WithCancel(ctx)
		e.stopReconcile = cancel
		go e.reconcileLoop(rctx)
	}
	return nil
}

// RequeueOrphaned makes executions available again whose job is marked
// running under this node's client although no worker here runs it: a
// database outage can swallow the completion of a job that ended meanwhile,
// and the rescuer would only notice after RescueAfter. It returns how many
// jobs it re-queued.
func (e *Engine) RequeueOrphaned(ctx context.Context) (int64, error) {
	if e.cfg.InsertOnly || e.cfg.ClientID == "" {
		return 0, nil
	}
	e.runningMu.Lock()
	running := make([]int64, 0, len(e.running))
	for id := range e.running {
		running = append(running, id)
	}
	e.runningMu.Unlock()
	tag, err := e.deps.Pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'running' AND kind = $1 AND attempted_by[array_length(attempted_by, 1)] = $2 AND NOT (id = ANY($3))`,
		executeArgs{}.Kind(), e.cfg.ClientID, running)
	if err != nil {
		return 0, fmt.Errorf("re-queue orphaned jobs: %w", err)
	}
	return tag.RowsAffected(), nil
}

// track records that this node works job id until the returned func runs.
func (e *Engine) track(id int64) func() {
	e.runningMu.Lock()
	e.running[id] = struct{}{}
	e.runningMu.Unlock()
	return func() {
		e.runningMu.Lock()
		delete(e.running, id)
		e.runningMu.Unlock()
	}
}

// Stop stops taking jobs and waits for running ones until ctx ends, then
// cancels them; they resume on the next start.
func (e *Engine) Stop(ctx context.Context) error {
	if e.cfg.InsertOnly {
		return nil
	}
	if e.stopReconcile != nil {
		e.stopReconcile()
	}
	err := e.client.Stop(ctx)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return e.client.StopAndCancel(cctx)
	}
	return nil
}

// ScheduleTx enqueues a new execution of wo inside the approving transaction.
func (e *Engine) ScheduleTx(ctx context.Context, tx pgx.Tx, wo *workorder.WorkOrder) error {
	execution, err := e.deps.WorkOrders.StartExecutionTx(ctx, tx, wo.ID)
	if err != nil {
		return err
	}
	res, err := e.client.InsertTx(ctx, tx, executeArgs{WorkOrderID: wo.ID, Execution: execution}, &river.InsertOpts{
		UniqueOpts: river.UniqueOpts{ByArgs: true},
	})
	if err != nil {
		return fmt.Errorf("enqueue execution: %w", err)
	}
	if err := e.deps.WorkOrders.SetJobTx(ctx, tx, wo.ID, res.Job.ID); err != nil {
		return err
	}
	wo.Result = nil
	return nil
}

// CancelTx cancels wo's job, wherever it runs. A running worker sees its
// context end within moments.
func (e *Engine) CancelTx(ctx context.Context, tx pgx.Tx, wo *workorder.WorkOrder) error {
	jobID, err := e.deps.WorkOrders.JobTx(ctx, tx, wo.ID)
	if err != nil {
		return err
	}
	if jobID != nil {
		if _, err := e.client.JobCancelTx(ctx, tx, *jobID); err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("cancel job %d: %w", *jobID, err)
		}
	}
	return e.enqueueCloseTx(ctx, tx, wo.ID)
}

// Work runs one execution. A system error is retried by the job queue; on the
// last attempt the work order fails with the cause.
func (w *executeWorker) Work(ctx context.Context, job *river.Job[executeArgs]) error {
	e := w.e
	defer e.track(job.ID)()
	err := e.executeRecovered(ctx, job.Args, job.Attempt)
	switch {
	case err == nil, errors.Is(err, errStale):
		return nil
	case errors.Is(err, node.ErrLeaseExpired):
		return e.fenced(ctx, job.Args.WorkOrderID, err)
	case ctx.Err() != nil && e.cancelled(job.Args.WorkOrderID):
		return river.JobCancel(fmt.Errorf("work order cancelled"))
	case errors.Is(err, errOverBudget):
		// The execution's time budget ran out: that costs an attempt, and the
		// last one fails the work order instead of leaving it in progress
		// with no job.
		if job.Attempt >= job.MaxAttempts {
			err = fmt.Errorf("on its last attempt: %w", err)
		}
	case ctx.Err() != nil:
		// Shutdown: re-queued without spending an attempt (a snooze does not
		// count), it resumes from its stored cycles here or on another node.
		e.log.Info("execution interrupted by shutdown; re-queued", "work_order", job.Args.WorkOrderID)
		return river.JobSnooze(0)
	case errors.Is(err, fault.ErrFailedPrecondition), errors.Is(err, fault.ErrNotFound):
		// Retrying cannot help (a plugin refused the request, a variant is
		// missing): fail now with the cause.
		e.fail(context.WithoutCancel(ctx), job.Args.WorkOrderID, err)
		return river.JobCancel(err)
	case sameAsLast(job, err):
		// The same failure twice in a row (a plugin that panics on this
		// request every time) is deterministic: more tries only cost time.
		err = fmt.Errorf("the same failure twice in a row, not retried: %w", err)
		e.fail(context.WithoutCancel(ctx), job.Args.WorkOrderID, err)
		return river.JobCancel(err)
	}
	e.log.Warn("execution failed", "work_order", job.Args.WorkOrderID, "attempt", job.Attempt, "err", err)
	_ = e.deps.WorkOrders.AppendEvent(context.WithoutCancel(ctx), workorder.Event{
		WorkOrderID: job.Args.WorkOrderID, Type: workorder.EventInfo,
		Message: fmt.Sprintf("attempt %d of %d failed: %v", job.Attempt, job.MaxAttempts, err),
	})
	if job.Attempt >= job.MaxAttempts {
		e.fail(context.WithoutCancel(ctx), job.Args.WorkOrderID, err)
		return river.JobCancel(err)
	}
	return err
}

// sameAsLast reports whether err repeats the previous attempt's error word
// for word.
func sameAsLast(job *river.Job[executeArgs], err error) bool {
	n := len(job.Errors)
	return n > 0 && job.Errors[n-1].Error == err.Error()
}

// executeRecovered is execute with a panic turned into an error, so that a
// bug on any path still ends in the retry-or-fail logic of Work rather than
// in a discarded job and a work order left in progress.
func (e *Engine) executeRecovered(ctx context.Context, args executeArgs, attempt int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("execution panicked", "work_order", args.WorkOrderID, "panic", r)
			err = fmt.Errorf("execution panicked: %v", r)
		}
	}()
	return e.execute(ctx, args, attempt)
}

// Timeout leaves an execution's time to its own budget, which follows the
// work order's limits (execute sets it once it has read them).
func (w *executeWorker) Timeout(*river.Job[executeArgs]) time.Duration { return -1 }

func (e *Engine) cancelled(id uuid.UUID) bool {
	wo, err := e.deps.WorkOrders.Get(context.Background(), id)
	return err == nil && wo.Status == workorder.StatusCancelled
}

func (e *Engine) fail(ctx context.Context, id uuid.UUID, cause error) {
	err := pgx.BeginFunc(ctx, e.deps.Pool, func(tx pgx.Tx) error {
		if err := e.fenceTx(ctx, tx); err != nil {
			return err
		}
		return e.failTx(ctx, tx, id, cause)
	})
	if err != nil {
		e.log.Error("mark work order failed", "work_order", id, "err", err)
		return
	}
	e.observeCrash(ctx, id)
}

// failTx stores cause as the work order's result and fails it.
func (e *Engine) failTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, cause error) error {
	res := workorder.Result{FailureReason: cause.Error()}
	if err := e.deps.WorkOrders.SetResultTx(ctx, tx, id, res); err != nil {
		return err
	}
	_, err := e.deps.WorkOrders.TransitionTx(ctx, tx, id, workorder.OpFail, "failed: "+cause.Error(), nil)
	return err
}

// observeCrash counts a failed execution against its variant: as a crash,
// score 0.
func (e *Engine) observeCrash(ctx context.Context, id uuid.UUID) {
	if e.deps.Experiments != nil {
		if wo, err := e.deps.WorkOrders.Get(ctx, id); err == nil && wo.VariantID != "" {
			if v, err := uuid.Parse(wo.VariantID); err == nil {
				if err := e.deps.Experiments.Observe(ctx, id, Outcome{VariantID: v, Crashed: true}); err != nil {
					e.log.Warn("record crashed outcome", "work_order", id, "err", err)
				}
			}
		}
	}
}

var _ rivertype.JobArgs = executeArgs{}

// retryPolicy retries a failed execution after 2s, 8s, 18s, ... capped at 2
// minutes: quick enough to ride out a plugin restart, slow enough not to hammer
// a provider that is down.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	d := time.Duration(2*job.Attempt*job.Attempt) * time.Second
	return time.Now().Add(min(d, 2*time.Minute))
}

// JobStat counts the queue's unfinished jobs of one kind in one state.
type JobStat struct {
	Kind, State     string
	Count           int64
	OldestAvailable time.Duration
}

// JobStats reads the job queue (the whole cluster's) for monitoring.
func (e *Engine) JobStats(ctx context.Context) ([]JobStat, error) {
	rows, err := e.deps.Pool.Query(ctx, `SELECT kind, state::text, count(*),
			coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)::float8
		FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded') GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("job stats: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobStat, error) {
		var j JobStat
		var age float64
		err := r.Scan(&j.Kind, &j.State, &j.Count, &age)
		j.OldestAvailable = time.Duration(age * float64(time.Second))
		return j, err
	})
}
