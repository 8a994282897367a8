package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/moosehq/moose/server/internal/fault"
)

// Bucket maps a (experiment, work order) pair to a number in [0, 1) that is
// uniform over work orders and independent between experiments. A work order
// goes to the candidate when its bucket is below the candidate share, so the
// arm is a pure function of the two ids: every moosed instance, and every
// retry, computes the same one. Mixing in the experiment id keeps one unlucky
// work order from landing in the candidate arm of every experiment.
func Bucket(experimentID, workOrderID uuid.UUID) float64 {
	h := sha256.New()
	h.Write(experimentID[:])
	h.Write(workOrderID[:])
	var sum [sha256.Size]byte
	// The top 53 bits fill a float64 mantissa exactly.
	return float64(binary.BigEndian.Uint64(h.Sum(sum[:0])[:8])>>11) / (1 << 53)
}

// Assign routes a work order of tier. With no running experiment in the tier
// it returns ok = false and the caller routes as usual. Otherwise the work
// order's arm comes from Bucket and is recorded once: a retry, or a second
// instance racing on the same work order, gets the recorded arm back.
//
// The baseline arm is served by the experiment's baseline variant even if
// someone re-pointed the tier since the start (tierVariant): the experiment
// compares the two variants it was started with. In shadow mode a candidate
// work order comes back with Shadow set and the candidate's VariantID: the
// caller serves the work order with the tier's variant and also runs the
// candidate on a copy that is never published.
func (s *Service) Assign(ctx context.Context, workOrderID uuid.UUID, tier string, tierVariant uuid.UUID) (Assignment, bool, error) {
	var (
		expID, baseline, candidate uuid.UUID
		share                      float64
		shadow                     bool
	)
	err := s.pool.QueryRow(ctx, `SELECT id, baseline_variant_id, candidate_variant_id, candidate_share, shadow
		FROM experiments WHERE tier = $1 AND status = 'running'`, tier).Scan(&expID, &baseline, &candidate, &share, &shadow)
	if errors.Is(err, pgx.ErrNoRows) {
		return Assignment{}, false, nil
	}
	if err != nil {
		return Assignment{}, false, fmt.Errorf("assign work order %s: find experiment: %w", workOrderID, err)
	}
	if tierVariant != uuid.Nil && tierVariant != baseline {
		s.log.WarnContext(ctx, "tier variant differs from the running experiment's baseline; the experiment's baseline serves",
			"experiment", expID, "tier", tier, "tier_variant", tierVariant, "baseline", baseline)
	}
	want := Assignment{VariantID: baseline, ExperimentID: expID, Arm: string(ArmBaseline)}
	if Bucket(expID, workOrderID) < share {
		want = Assignment{VariantID: candidate, ExperimentID: expID, Arm: string(ArmCandidate), Shadow: shadow}
	}

	// Insert-or-read in one statement. Under READ COMMITTED a concurrent
	// insert of the same row makes ON CONFLICT skip while the statement's
	// snapshot cannot see the winner yet, so the read can come back empty
	// once; the second try sees the committed row.
	for range 3 {
		got := Assignment{ExperimentID: expID}
		err = s.pool.QueryRow(ctx, `WITH ins AS (
				INSERT INTO experiment_assignments (work_order_id, experiment_id, arm, variant_id, shadow)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (work_order_id, experiment_id) DO NOTHING
				RETURNING arm, variant_id, shadow)
			SELECT arm, variant_id, shadow FROM ins
			UNION ALL
			SELECT arm, variant_id, shadow FROM experiment_assignments WHERE work_order_id = $1 AND experiment_id = $2
			LIMIT 1`,
			workOrderID, expID, want.Arm, want.VariantID, want.Shadow).Scan(&got.Arm, &got.VariantID, &got.Shadow)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23503" {
				return Assignment{}, false, fmt.Errorf("assign work order %s: %w", workOrderID, fault.ErrNotFound)
			}
			return Assignment{}, false, fmt.Errorf("assign work order %s: record: %w", workOrderID, err)
		}
		return got, true, nil
	}
	return Assignment{}, false, fmt.Errorf("assign work order %s: assignment neither inserted nor found: %w", workOrderID, fault.ErrConflict)
}

// Observe records a finished execution of a work order that a running
// experiment assigned, then takes a look: it evaluates the decision rule on
// everything counted so far and, if the rule decides, ends the experiment
// (promotion re-points the tier in the same transaction). A work order that
// no running experiment assigned is ignored.
//
// Which arm an outcome counts for:
//   - a shadow outcome is the candidate's run on a copy (shadow experiments
//     only, candidate-assigned work orders only);
//   - in a shadow experiment every published outcome is the baseline's;
//   - otherwise the work order counts for the arm it was assigned (intent to
//     treat), whichever variant finally served it, so a candidate that had to
//     fall back is not silently dropped from its own arm.
//
// Each (experiment, work order, arm) counts once, and the first finished
// outcome is the one that counts: a retry or re-run only increments the
// row's repeats. Keeping the first outcome, not the latest, means that
// re-running the work orders that went badly cannot improve an arm, and that
// what a past look saw is never rewritten. A crash counts as score 0, not
// passed (decision code).
func (s *Service) Observe(ctx context.Context, workOrderID uuid.UUID, r ExecutionResult) error {
	var (
		decided *Decision
		exp     Experiment
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var assigned string
		e, err := scanExperiment(tx.QueryRow(ctx, `SELECT `+prefixed("e")+`, a.arm
			FROM experiment_assignments a JOIN experiments e ON e.id = a.experiment_id
			WHERE a.work_order_id = $1 AND e.status = 'running'
			ORDER BY a.created_at DESC LIMIT 1
			FOR NO KEY UPDATE OF e`, workOrderID), &assigned)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find experiment: %w", err)
		}
		arm, ok := attribute(e, Arm(assigned), r)
		if !ok {
			s.log.WarnContext(ctx, "outcome does not fit the experiment; not counted",
				"experiment", e.ID, "work_order", workOrderID, "assigned", assigned, "shadow", r.Shadow, "variant", r.VariantID)
			return nil
		}
		now := s.now()
		score, cost := r.Score, r.CostUSD
		// A NaN score is stored as 0: the decision code counts it as 0 anyway,
		// and NaN would poison any SQL aggregate over the table.
		if math.IsNaN(score) {
			score = 0
		}
		if math.IsNaN(cost) || math.IsInf(cost, 0) {
			cost = 0 // an unknown cost; infinity would make every statistic NaN
		}
		var repeats int
		err = tx.QueryRow(ctx, `INSERT INTO experiment_observations
				(experiment_id, work_order_id, arm, variant_id, shadow, score, passed, cost_usd, crashed, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (experiment_id, work_order_id, arm) DO UPDATE
				SET repeats = experiment_observations.repeats + 1
			RETURNING repeats`,
			e.ID, workOrderID, string(arm), r.VariantID, r.Shadow, score, r.Passed, cost, r.Crashed, now).Scan(&repeats)
		if err != nil {
			return fmt.Errorf("record observation: %w", err)
		}
		if repeats > 0 {
			return nil // already counted: nothing new to look at
		}

		baseline, candidate, err := loadObservations(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		d := Evaluate(e.Config, baseline, candidate, e.StartedAt, now)
		_, err = tx.Exec(ctx, `UPDATE experiments SET looks = looks + 1,
			score_diff_p_min = LEAST(score_diff_p_min, $2), pass_diff_p_min = LEAST(pass_diff_p_min, $3)
			WHERE id = $1`, e.ID, finiteP(d.ScoreDiffP), finiteP(d.PassDiffP))
		if err != nil {
			return fmt.Errorf("update running p-values: %w", err)
		}
		if !d.Outcome.Final() {
			return nil
		}
		if err := s.finish(ctx, tx, e, d, ActorAuto, now); err != nil {
			return err
		}
		decided, exp = &d, e
		return nil
	})
	if err != nil {
		return fmt.Errorf("observe work order %s: %w", workOrderID, err)
	}
	if decided != nil {
		s.logDecision(ctx, exp, *decided, ActorAuto)
	}
	return nil
}

// attribute picks the arm an outcome counts for (see Observe).
func attribute(e Experiment, assigned Arm, r ExecutionResult) (Arm, bool) {
	switch {
	case r.Shadow:
		return ArmCandidate, e.Shadow && assigned == ArmCandidate
	case e.Shadow:
		return ArmBaseline, true
	default:
		return assigned, assigned == ArmBaseline || assigned == ArmCandidate
	}
}

// finiteP keeps a p-value storable and comparable: NaN means "not computed".
func finiteP(p float64) float64 {
	if math.IsNaN(p) {
		return 1
	}
	return math.Min(1, math.Max(0, p))
}
