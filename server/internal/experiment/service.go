package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/routing"
)

// Status is an experiment's lifecycle state.
type Status string

const (
	// StatusRunning: candidate traffic flows; the rule runs after every WO.
	StatusRunning Status = "running"
	// StatusPromoted: the candidate became the tier's variant.
	StatusPromoted Status = "promoted"
	// StatusRolledBack: the candidate was rolled back; the baseline stays.
	StatusRolledBack Status = "rolled_back"
	// StatusInconclusive: the budget ran out without a decision; candidate
	// traffic stopped and a person decides (Promote or Rollback).
	StatusInconclusive Status = "inconclusive"
	// StatusStopped: stopped by a person or by the circuit breaker.
	StatusStopped Status = "stopped"
)

// ParseStatus accepts a status name ("running") or "" (no filter).
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case "", StatusRunning, StatusPromoted, StatusRolledBack, StatusInconclusive, StatusStopped:
		return st, nil
	}
	return "", fault.Invalid("status", "unknown experiment status %q", s)
}

// OutcomeStop is a person stopping an experiment. The decision rule never
// produces it; it exists so that a manual stop is recorded like any decision.
const OutcomeStop Outcome = "stop"

// TriggerManual marks a decision a person took; the rule's own triggers at
// that look follow it, for the record.
const TriggerManual Trigger = "manual"

// ActorAuto is the actor recorded for the decision rule's own decisions.
const ActorAuto = "auto"

// actorUnknown is recorded when a manual action names nobody.
const actorUnknown = "unknown"

// statusFor maps a final outcome to the status it leaves the experiment in.
func statusFor(o Outcome) Status {
	switch o {
	case OutcomePromote:
		return StatusPromoted
	case OutcomeRollback:
		return StatusRolledBack
	case OutcomeInconclusive:
		return StatusInconclusive
	default: // OutcomeBreakerStop, OutcomeStop
		return StatusStopped
	}
}

// Experiment is one stored experiment.
type Experiment struct {
	ID                 uuid.UUID
	Tier               string
	BaselineVariantID  uuid.UUID
	CandidateVariantID uuid.UUID
	CandidateShare     float64
	Shadow             bool
	Config             Config
	Status             Status
	StartedBy          string
	StartedAt          time.Time
	EndedAt            *time.Time
	// Looks is the number of decision looks taken (one per counted WO).
	Looks int
	// ScoreDiffP and PassDiffP are the running minima of the always-valid
	// p-values over all looks: the only values that may be reported.
	ScoreDiffP float64
	PassDiffP  float64
	// Set once the experiment has ended (and again when a person resolves an
	// inconclusive or stopped experiment).
	Outcome   Outcome
	Reason    string
	DecidedBy string
	DecidedAt *time.Time
	// Decision is the look that ended the experiment, with every number.
	Decision *Decision
}

// Assignment is a routing decision made by an experiment. Its fields match
// pipeline.Assignment one for one, so the two convert directly.
type Assignment struct {
	VariantID    uuid.UUID
	ExperimentID uuid.UUID
	Arm          string // "baseline" or "candidate"
	// Shadow: serve the work order with the tier's variant as usual, and also
	// run VariantID (the candidate) on a copy that is never published.
	Shadow bool
}

// ExecutionResult is what one execution of a work order produced. Its fields
// match pipeline.Outcome one for one, so the two convert directly.
type ExecutionResult struct {
	VariantID uuid.UUID
	Score     float64
	Passed    bool
	CostUSD   float64
	Crashed   bool
	// Shadow: the candidate's run on a copy of the work order.
	Shadow bool
}

// Service owns experiments: starting them, sticky assignment of work orders
// to arms, recording outcomes and acting on the decision rule. Everything it
// knows lives in PostgreSQL (migration 0005), so several moosed instances can
// share one database:
//
//   - experiments: one row per experiment, its Config as JSON, its status, the
//     running minima of the always-valid p-values and, once ended, the
//     Decision that ended it; a partial unique index allows one running
//     experiment per tier;
//   - experiment_assignments: the arm each work order got, written once;
//   - experiment_observations: one counted outcome per (experiment, work
//     order, arm), the first one;
//   - experiment_events: the audit trail (start, every final decision, every
//     manual action, with the decision's JSON).
//
// Looks and manual actions on one experiment are serialized by a row lock on
// the experiment, so two work orders finishing at once cannot both decide.
// A look re-reads the experiment's observations (O(n), n bounded by the
// budget) rather than keeping Tallies in memory, so no state is lost or
// duplicated across instances and restarts.
type Service struct {
	pool   *pgxpool.Pool
	router *routing.Router
	log    *slog.Logger
	now    func() time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now (tests of the time budget use it).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// NewService returns a Service over pool.
func NewService(pool *pgxpool.Pool, log *slog.Logger, opts ...Option) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{pool: pool, router: routing.New(pool), log: log, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// StartSpec describes an experiment to start.
type StartSpec struct {
	Tier string
	// Baseline is a variant id or name; empty means the tier's current variant.
	Baseline string
	// Candidate is a variant id or name.
	Candidate      string
	CandidateShare float64
	Shadow         bool
	// Config is the decision rule's parameters; start from DefaultConfig.
	Config Config
	Actor  string
}

// Start validates spec and starts the experiment. A tier that already has a
// running experiment refuses (fault.ErrFailedPrecondition); the database
// enforces it too, so concurrent starts cannot both succeed.
func (s *Service) Start(ctx context.Context, spec StartSpec) (Report, error) {
	v := &fault.ValidationError{}
	spec.Tier = strings.TrimSpace(spec.Tier)
	if spec.Tier == "" {
		v.Add("tier", "is required")
	}
	if strings.TrimSpace(spec.Candidate) == "" {
		v.Add("candidate_variant", "is required")
	}
	if !(spec.CandidateShare > 0 && spec.CandidateShare <= 1) {
		v.Add("candidate_share", "must be in (0, 1], got %v", spec.CandidateShare)
	}
	if err := spec.Config.Validate(); err != nil {
		var cv *fault.ValidationError
		if !errors.As(err, &cv) {
			return Report{}, fmt.Errorf("start experiment: %w", err)
		}
		for _, f := range cv.Violations {
			v.Add("config."+f.Field, "%s", f.Reason)
		}
	}
	actor := spec.Actor
	if actor == "" {
		actor = actorUnknown
	}

	id, err := uuid.NewV7()
	if err != nil {
		return Report{}, fmt.Errorf("start experiment: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var tierVariant *uuid.UUID
		tierFound := false
		if spec.Tier != "" {
			err := tx.QueryRow(ctx, `SELECT variant_id FROM routing_tiers WHERE name = $1`, spec.Tier).Scan(&tierVariant)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				v.Add("tier", "no routing tier named %q", spec.Tier)
			case err != nil:
				return fmt.Errorf("look up tier: %w", err)
			default:
				tierFound = true
			}
		}
		var candidate, baseline uuid.UUID
		if strings.TrimSpace(spec.Candidate) != "" {
			if candidate, err = activeVariant(ctx, tx, v, "candidate_variant", spec.Candidate); err != nil {
				return err
			}
		}
		switch {
		case strings.TrimSpace(spec.Baseline) != "":
			if baseline, err = activeVariant(ctx, tx, v, "baseline_variant", spec.Baseline); err != nil {
				return err
			}
		case tierFound && tierVariant == nil:
			v.Add("baseline_variant", "tier %q has no variant: name the baseline", spec.Tier)
		case tierFound:
			baseline = *tierVariant
			if _, err = activeVariant(ctx, tx, v, "baseline_variant", baseline.String()); err != nil {
				return err
			}
		}
		if candidate != uuid.Nil && candidate == baseline {
			v.Add("candidate_variant", "must differ from the baseline variant %s", baseline)
		}
		if err := v.Err(); err != nil {
			return err
		}

		var running uuid.UUID
		err = tx.QueryRow(ctx, `SELECT id FROM experiments WHERE tier = $1 AND status = 'running'`, spec.Tier).Scan(&running)
		if err == nil {
			return fmt.Errorf("tier %q already runs experiment %s: %w", spec.Tier, running, fault.ErrFailedPrecondition)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("look up running experiment: %w", err)
		}
		cfg, err := json.Marshal(spec.Config)
		if err != nil {
			return fmt.Errorf("encode config: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO experiments (id, tier, baseline_variant_id, candidate_variant_id,
			candidate_share, shadow, config, status, started_by, started_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9)`,
			id, spec.Tier, baseline, candidate, spec.CandidateShare, spec.Shadow, cfg, actor, s.now())
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" {
				return fmt.Errorf("tier %q already runs an experiment: %w", spec.Tier, fault.ErrFailedPrecondition)
			}
			return fmt.Errorf("insert experiment: %w", err)
		}
		msg := fmt.Sprintf("started in tier %s: baseline %s, candidate %s at %.3g%% of traffic", spec.Tier, baseline, candidate, 100*spec.CandidateShare)
		if spec.Shadow {
			msg += " (shadow)"
		}
		return addEvent(ctx, tx, id, "started", actor, msg, cfg)
	})
	if err != nil {
		return Report{}, fmt.Errorf("start experiment: %w", err)
	}
	s.log.InfoContext(ctx, "experiment started", "experiment", id, "tier", spec.Tier, "actor", actor,
		"candidate_share", spec.CandidateShare, "shadow", spec.Shadow)
	return s.Get(ctx, id)
}

// activeVariant resolves ref (id or name) to an active variant's id, adding a
// violation for field when it does not exist or is retired.
func activeVariant(ctx context.Context, q querier, v *fault.ValidationError, field, ref string) (uuid.UUID, error) {
	ref = strings.TrimSpace(ref)
	var (
		id     uuid.UUID
		status string
		err    error
	)
	if parsed, perr := uuid.Parse(ref); perr == nil {
		err = q.QueryRow(ctx, `SELECT id, status FROM variants WHERE id = $1`, parsed).Scan(&id, &status)
	} else {
		err = q.QueryRow(ctx, `SELECT id, status FROM variants WHERE name = $1`, ref).Scan(&id, &status)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		v.Add(field, "variant %q does not exist", ref)
		return uuid.Nil, nil
	case err != nil:
		return uuid.Nil, fmt.Errorf("look up variant: %w", err)
	case status != "active":
		v.Add(field, "variant %q is %s", ref, status)
	}
	return id, nil
}

// addEvent appends to an experiment's audit trail.
func addEvent(ctx context.Context, q querier, id uuid.UUID, typ, actor, msg string, data []byte) error {
	if data == nil {
		data = []byte("{}")
	}
	_, err := q.Exec(ctx, `INSERT INTO experiment_events (experiment_id, type, actor, message, data)
		VALUES ($1, $2, $3, $4, $5)`, id, typ, actor, msg, data)
	if err != nil {
		return fmt.Errorf("record experiment event: %w", err)
	}
	return nil
}

const experimentColumns = `id, tier, baseline_variant_id, candidate_variant_id, candidate_share, shadow,
	config, status, started_by, started_at, looks, score_diff_p_min, pass_diff_p_min, outcome, reason,
	decided_by, decided_at, decision, ended_at`

// prefixed qualifies experimentColumns with a table alias.
func prefixed(alias string) string {
	cols := strings.Split(experimentColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func scanExperiment(row pgx.Row, extra ...any) (Experiment, error) {
	var (
		e               Experiment
		cfg, dec        []byte
		status, outcome string
	)
	dest := append([]any{&e.ID, &e.Tier, &e.BaselineVariantID, &e.CandidateVariantID, &e.CandidateShare, &e.Shadow,
		&cfg, &status, &e.StartedBy, &e.StartedAt, &e.Looks, &e.ScoreDiffP, &e.PassDiffP, &outcome, &e.Reason,
		&e.DecidedBy, &e.DecidedAt, &dec, &e.EndedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Experiment{}, err
	}
	e.Status, e.Outcome = Status(status), Outcome(outcome)
	if err := json.Unmarshal(cfg, &e.Config); err != nil {
		return Experiment{}, fmt.Errorf("decode experiment config: %w", err)
	}
	if dec != nil {
		var d Decision
		if err := json.Unmarshal(dec, &d); err != nil {
			return Experiment{}, fmt.Errorf("decode experiment decision: %w", err)
		}
		e.Decision = &d
	}
	return e, nil
}

// lockExperiment reads an experiment and locks its row until tx ends, which
// serializes looks and manual actions on one experiment.
func lockExperiment(ctx context.Context, tx pgx.Tx, id uuid.UUID) (Experiment, error) {
	e, err := scanExperiment(tx.QueryRow(ctx, `SELECT `+experimentColumns+` FROM experiments WHERE id = $1 FOR NO KEY UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Experiment{}, fmt.Errorf("experiment %s: %w", id, fault.ErrNotFound)
	}
	if err != nil {
		return Experiment{}, fmt.Errorf("load experiment: %w", err)
	}
	return e, nil
}

// loadObservations returns an experiment's counted work orders per arm, in
// the order they finished (the circuit breaker's streak depends on it).
func loadObservations(ctx context.Context, q querier, id uuid.UUID) (baseline, candidate []Observation, err error) {
	rows, err := q.Query(ctx, `SELECT arm, score, passed, cost_usd, crashed, finished_at
		FROM experiment_observations WHERE experiment_id = $1 ORDER BY finished_at, seq`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("load observations: %w", err)
	}
	obs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Observation, error) {
		var o Observation
		var arm string
		err := r.Scan(&arm, &o.Score, &o.Passed, &o.Cost, &o.Crashed, &o.Finished)
		o.Arm = Arm(arm)
		return o, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load observations: %w", err)
	}
	baseline, candidate = Split(obs)
	return baseline, candidate, nil
}

// finish ends (or resolves) an experiment with decision d: it stores d with
// every number, records the event and, on promotion, makes the candidate the
// tier's variant in the same transaction.
func (s *Service) finish(ctx context.Context, tx pgx.Tx, e Experiment, d Decision, actor string, now time.Time) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE experiments SET status = $2, outcome = $3, reason = $4, decided_by = $5,
		decided_at = $6, decision = $7, ended_at = COALESCE(ended_at, $6) WHERE id = $1`,
		e.ID, statusFor(d.Outcome), d.Outcome, d.Reason, actor, now, data)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("tier %q runs another experiment: %w", e.Tier, fault.ErrFailedPrecondition)
		}
		return fmt.Errorf("store decision: %w", err)
	}
	if d.Outcome == OutcomePromote {
		if err := s.router.SetTierVariantTx(ctx, tx, e.Tier, e.CandidateVariantID); err != nil {
			return fmt.Errorf("promote candidate: %w", err)
		}
	}
	return addEvent(ctx, tx, e.ID, string(d.Outcome), actor, d.Reason, data)
}

// logDecision emits a final decision to the log once it is committed.
func (s *Service) logDecision(ctx context.Context, e Experiment, d Decision, actor string) {
	s.log.InfoContext(ctx, "experiment decided", "experiment", e.ID, "tier", e.Tier,
		"outcome", string(d.Outcome), "actor", actor, "baseline_n", d.Baseline.N, "candidate_n", d.Candidate.N,
		"reason", d.Reason)
}
