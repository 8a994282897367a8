package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/moosehq/moose/server/internal/fault"
)

// Report is an experiment with what people look at: per-arm statistics and
// the current decision.
type Report struct {
	Experiment
	Baseline  ArmStats
	Candidate ArmStats
	// Current is the stored decision once the experiment has ended, else the
	// live look at everything counted so far (Outcome continue, or the
	// outcome the next finished work order is about to act on).
	Current Decision
	// Live reports whether Current was computed now rather than stored.
	Live bool
	// Events is the audit trail, oldest first (Get only).
	Events []Event
}

// ArmStats describes one arm.
type ArmStats struct {
	Arm       Arm
	VariantID uuid.UUID
	ArmReport
	// ScoreCS is the one-sample always-valid CS of the arm's mean score
	// (N* = NStarFloor, score SD floored as the rule does); nil with fewer
	// than two work orders. For the candidate it is the floor sequence.
	ScoreCS *CS
	// Dimensions are mean scores per scoring dimension, from the results of
	// the arm's published work orders (a shadow run has no stored result).
	Dimensions []DimensionMean
}

// DimensionMean is an arm's mean score in one dimension over N work orders.
type DimensionMean struct {
	Name string
	Mean float64
	N    int
}

// Event is one entry of an experiment's audit trail.
type Event struct {
	ID        int64
	Type      string // "started" or the Outcome that ended it
	Actor     string
	Message   string
	Data      json.RawMessage
	CreatedAt time.Time
}

// Get returns an experiment with its statistics and audit trail.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (Report, error) {
	// One snapshot for the row, its observations and its events, so a reader
	// never sees a running experiment beside a decision that already ended it.
	var r Report
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		e, err := scanExperiment(tx.QueryRow(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("experiment %s: %w", id, fault.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("get experiment %s: %w", id, err)
		}
		if r, err = s.report(ctx, tx, e); err != nil {
			return fmt.Errorf("get experiment %s: %w", id, err)
		}
		if r.Events, err = events(ctx, tx, id); err != nil {
			return fmt.Errorf("get experiment %s: %w", id, err)
		}
		return nil
	})
	return r, err
}

// ListFilter narrows List; zero fields do not filter.
type ListFilter struct {
	Tier   string
	Status Status
}

// List returns experiments, newest first, with their statistics (no events).
func (s *Service) List(ctx context.Context, f ListFilter) ([]Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+experimentColumns+` FROM experiments
		WHERE ($1 = '' OR tier = $1) AND ($2 = '' OR status = $2)
		ORDER BY started_at DESC, id DESC`, f.Tier, string(f.Status))
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	exps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Experiment, error) { return scanExperiment(r) })
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	out := make([]Report, 0, len(exps))
	for _, e := range exps {
		r, err := s.report(ctx, s.pool, e)
		if err != nil {
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// report computes an experiment's statistics from its observations.
func (s *Service) report(ctx context.Context, q querier, e Experiment) (Report, error) {
	baseline, candidate, err := loadObservations(ctx, q, e.ID)
	if err != nil {
		return Report{}, err
	}
	r := Report{Experiment: e}
	if e.Decision != nil {
		r.Current = *e.Decision
	} else {
		// Evaluate is pure and cheap (O(n) with n ≤ the budget), so the live
		// look is recomputed rather than stored on every work order.
		r.Current, r.Live = Evaluate(e.Config, baseline, candidate, e.StartedAt, s.now()), true
	}
	b, c := NewTally(baseline), NewTally(candidate)
	r.Baseline = armStats(e.Config, ArmBaseline, e.BaselineVariantID, b.report())
	r.Candidate = armStats(e.Config, ArmCandidate, e.CandidateVariantID, c.report())

	dims, err := q.Query(ctx, `SELECT o.arm, d->>'name', avg((d->>'score')::double precision), count(*)
		FROM experiment_observations o
		JOIN work_orders w ON w.id = o.work_order_id,
		LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(w.result->'dimensions') = 'array'
			THEN w.result->'dimensions' ELSE '[]'::jsonb END) d
		WHERE o.experiment_id = $1 AND NOT o.shadow AND jsonb_typeof(d->'score') = 'number'
		GROUP BY 1, 2 ORDER BY 1, 2`, e.ID)
	if err != nil {
		return Report{}, fmt.Errorf("dimension means: %w", err)
	}
	defer dims.Close()
	for dims.Next() {
		var (
			arm string
			dm  DimensionMean
		)
		if err := dims.Scan(&arm, &dm.Name, &dm.Mean, &dm.N); err != nil {
			return Report{}, fmt.Errorf("dimension means: %w", err)
		}
		switch Arm(arm) {
		case ArmBaseline:
			r.Baseline.Dimensions = append(r.Baseline.Dimensions, dm)
		case ArmCandidate:
			r.Candidate.Dimensions = append(r.Candidate.Dimensions, dm)
		}
	}
	if err := dims.Err(); err != nil {
		return Report{}, fmt.Errorf("dimension means: %w", err)
	}
	return r, nil
}

func armStats(cfg Config, arm Arm, variant uuid.UUID, rep ArmReport) ArmStats {
	a := ArmStats{Arm: arm, VariantID: variant, ArmReport: rep}
	sum := Summary{N: rep.N, Mean: rep.Mean, Variance: rep.SD * rep.SD}.WithSDFloor(ScoreSDFloor)
	if cs, err := (Boundary{Alpha: cfg.Alpha, NStar: cfg.NStarFloor}).Mean(sum); err == nil {
		a.ScoreCS = &cs
	}
	return a
}

func events(ctx context.Context, q querier, id uuid.UUID) ([]Event, error) {
	rows, err := q.Query(ctx, `SELECT id, type, actor, message, data, created_at
		FROM experiment_events WHERE experiment_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var ev Event
		var data []byte
		err := r.Scan(&ev.ID, &ev.Type, &ev.Actor, &ev.Message, &data, &ev.CreatedAt)
		ev.Data = data
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return evs, nil
}

// Stop ends a running experiment by hand: candidate traffic stops, the
// baseline stays.
func (s *Service) Stop(ctx context.Context, id uuid.UUID, actor, reason string) (Report, error) {
	return s.act(ctx, id, OutcomeStop, actor, reason)
}

// Promote makes the candidate the tier's variant by hand. It is allowed while
// the experiment runs and after it ended inconclusive or stopped (the rule
// leaves those to a person), not after a promotion or rollback.
func (s *Service) Promote(ctx context.Context, id uuid.UUID, actor, reason string) (Report, error) {
	return s.act(ctx, id, OutcomePromote, actor, reason)
}

// Rollback ends the experiment keeping the baseline, by hand. Allowed in the
// same states as Promote.
func (s *Service) Rollback(ctx context.Context, id uuid.UUID, actor, reason string) (Report, error) {
	return s.act(ctx, id, OutcomeRollback, actor, reason)
}

// act records a person's decision. The stored Decision is the look at that
// moment, numbers included, with the person's outcome, TriggerManual first
// and a reason naming them; the rule's own view at that look follows in the
// reason, so the record shows whether the person overrode the evidence.
func (s *Service) act(ctx context.Context, id uuid.UUID, o Outcome, actor, reason string) (Report, error) {
	if actor = strings.TrimSpace(actor); actor == "" {
		actor = actorUnknown
	}
	verb := map[Outcome]string{OutcomeStop: "stop", OutcomePromote: "promote", OutcomeRollback: "roll back"}[o]
	var (
		d Decision
		e Experiment
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if e, err = lockExperiment(ctx, tx, id); err != nil {
			return err
		}
		allowed := e.Status == StatusRunning ||
			(o != OutcomeStop && (e.Status == StatusInconclusive || e.Status == StatusStopped))
		if !allowed {
			return fmt.Errorf("experiment is %s: %w", e.Status, fault.ErrFailedPrecondition)
		}
		if o == OutcomePromote {
			var status string
			err := tx.QueryRow(ctx, `SELECT status FROM variants WHERE id = $1`, e.CandidateVariantID).Scan(&status)
			if err != nil {
				return fmt.Errorf("look up candidate: %w", err)
			}
			if status != "active" {
				return fmt.Errorf("candidate variant %s is %s: %w", e.CandidateVariantID, status, fault.ErrFailedPrecondition)
			}
			// Re-pointing the tier under another running experiment would
			// change that experiment's baseline behind its back.
			var other uuid.UUID
			err = tx.QueryRow(ctx, `SELECT id FROM experiments WHERE tier = $1 AND status = 'running' AND id <> $2`,
				e.Tier, e.ID).Scan(&other)
			if err == nil {
				return fmt.Errorf("tier %q now runs experiment %s: %w", e.Tier, other, fault.ErrFailedPrecondition)
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("look up running experiment: %w", err)
			}
		}
		baseline, candidate, err := loadObservations(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		now := s.now()
		end := now
		if e.EndedAt != nil {
			end = *e.EndedAt
		}
		d = Evaluate(e.Config, baseline, candidate, e.StartedAt, end)
		ruleSaid := d.Reason
		d.Outcome = o
		d.Triggers = append([]Trigger{TriggerManual}, d.Triggers...)
		d.Reason = fmt.Sprintf("%s: by %s", o, actor)
		if reason = strings.TrimSpace(reason); reason != "" {
			d.Reason += ": " + reason
		}
		if e.Status == StatusRunning {
			d.Reason += " (the rule at this look: " + ruleSaid + ")"
		} else {
			d.Reason += fmt.Sprintf(" (resolving %s experiment: %s)", e.Status, e.Reason)
		}
		return s.finish(ctx, tx, e, d, actor, now)
	})
	if err != nil {
		return Report{}, fmt.Errorf("%s experiment %s: %w", verb, id, err)
	}
	s.logDecision(ctx, e, d, actor)
	return s.Get(ctx, id)
}
