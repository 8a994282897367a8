package experiment_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/internal/fault"
)

// world is a fresh database with four variants: "base" (the cheap tier's
// variant), "cand" and "other" (active) and "old" (retired). The strong tier
// has no variant.
type world struct {
	t                      *testing.T
	pool                   *pgxpool.Pool
	svc                    *experiment.Service
	base, cand, other, old uuid.UUID
	project                uuid.UUID
}

func newWorld(t *testing.T, opts ...experiment.Option) *world {
	t.Helper()
	w := &world{t: t, pool: dbtest.New(t)}
	w.svc = experiment.NewService(w.pool, nil, opts...)
	ctx := t.Context()
	w.base, w.cand, w.other, w.old = w.variant("base", "active"), w.variant("cand", "active"),
		w.variant("other", "active"), w.variant("old", "retired")
	_, err := w.pool.Exec(ctx, `UPDATE routing_tiers SET variant_id = $1 WHERE name = 'cheap'`, w.base)
	require.NoError(t, err)
	w.project = uuid.New()
	_, err = w.pool.Exec(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language)
		VALUES ($1, 'calc', '/srv/calc', 'main', 'go')`, w.project)
	require.NoError(t, err)
	return w
}

func (w *world) variant(name, status string) uuid.UUID {
	w.t.Helper()
	id := uuid.New()
	_, err := w.pool.Exec(w.t.Context(), `INSERT INTO variants (id, name, plugin_name, status) VALUES ($1, $2, 'replay', $3)`,
		id, name, status)
	require.NoError(w.t, err)
	return id
}

// workOrders inserts n work orders of the cheap tier and returns their ids.
func (w *world) workOrders(n int) []uuid.UUID {
	w.t.Helper()
	rows, err := w.pool.Query(w.t.Context(), `INSERT INTO work_orders (id, project_id, title, complexity, status)
		SELECT gen_random_uuid(), $1, 'wo ' || i, 2, 'approved' FROM generate_series(1, $2) i RETURNING id`, w.project, n)
	require.NoError(w.t, err)
	var ids []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		require.NoError(w.t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(w.t, rows.Err())
	require.Len(w.t, ids, n)
	return ids
}

func (w *world) start(spec experiment.StartSpec) experiment.Report {
	w.t.Helper()
	if spec.Tier == "" {
		spec.Tier = "cheap"
	}
	if spec.Candidate == "" {
		spec.Candidate = "cand"
	}
	if spec.CandidateShare == 0 {
		spec.CandidateShare = 0.5
	}
	if spec.Config == (experiment.Config{}) {
		spec.Config = experiment.DefaultConfig()
	}
	r, err := w.svc.Start(w.t.Context(), spec)
	require.NoError(w.t, err)
	require.Equal(w.t, experiment.StatusRunning, r.Status)
	return r
}

func (w *world) tierVariant(tier string) uuid.UUID {
	w.t.Helper()
	var id *uuid.UUID
	require.NoError(w.t, w.pool.QueryRow(w.t.Context(), `SELECT variant_id FROM routing_tiers WHERE name = $1`, tier).Scan(&id))
	if id == nil {
		return uuid.Nil
	}
	return *id
}

func (w *world) get(id uuid.UUID) experiment.Report {
	w.t.Helper()
	r, err := w.svc.Get(w.t.Context(), id)
	require.NoError(w.t, err)
	return r
}

// scoreFor gives each arm a deterministic score stream: per arm the k-th
// counted work order gets mean + wiggle(k), the wiggle cycling through
// -1, -0.5, 0, 0.5, 1 (SD ≈ 0.79).
type scoreFor struct {
	baseline, candidate float64
	n                   map[string]int
}

func (s *scoreFor) next(arm string) float64 {
	if s.n == nil {
		s.n = map[string]int{}
	}
	k := s.n[arm]
	s.n[arm]++
	mean := s.baseline
	if arm == string(experiment.ArmCandidate) {
		mean = s.candidate
	}
	return mean + 0.5*float64(k%5-2)
}

// drive assigns and finishes work orders one at a time, as the pipeline
// would, until the experiment ends or the work orders run out. It returns how
// many it finished.
func (w *world) drive(expID uuid.UUID, wos []uuid.UUID, scores *scoreFor, passed func(arm string) bool) int {
	w.t.Helper()
	ctx := w.t.Context()
	for i, wo := range wos {
		a, ok, err := w.svc.Assign(ctx, wo, "cheap", w.base)
		require.NoError(w.t, err)
		if !ok {
			return i
		}
		require.Equal(w.t, expID, a.ExperimentID)
		require.NoError(w.t, w.svc.Observe(ctx, wo, experiment.ExecutionResult{
			VariantID: a.VariantID, Score: scores.next(a.Arm), Passed: passed(a.Arm), CostUSD: 0.01,
		}))
	}
	return len(wos)
}

func always(string) bool { return true }

func TestStartValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	badConfig := experiment.DefaultConfig()
	badConfig.Alpha = 2
	tests := []struct {
		name   string
		spec   experiment.StartSpec
		fields []string
	}{
		{"nothing", experiment.StartSpec{Config: experiment.DefaultConfig()},
			[]string{"tier", "candidate_variant", "candidate_share"}},
		{"share above one", experiment.StartSpec{Tier: "cheap", Candidate: "cand", CandidateShare: 1.5, Config: experiment.DefaultConfig()},
			[]string{"candidate_share"}},
		{"unknown tier", experiment.StartSpec{Tier: "gold", Candidate: "cand", CandidateShare: 0.2, Config: experiment.DefaultConfig()},
			[]string{"tier"}},
		{"unknown candidate", experiment.StartSpec{Tier: "cheap", Candidate: "nope", CandidateShare: 0.2, Config: experiment.DefaultConfig()},
			[]string{"candidate_variant"}},
		{"retired candidate", experiment.StartSpec{Tier: "cheap", Candidate: w.old.String(), CandidateShare: 0.2, Config: experiment.DefaultConfig()},
			[]string{"candidate_variant"}},
		{"candidate is the tier's variant", experiment.StartSpec{Tier: "cheap", Candidate: "base", CandidateShare: 0.2, Config: experiment.DefaultConfig()},
			[]string{"candidate_variant"}},
		{"candidate is the named baseline", experiment.StartSpec{Tier: "cheap", Baseline: "other", Candidate: "other", CandidateShare: 0.2, Config: experiment.DefaultConfig()},
			[]string{"candidate_variant"}},
		{"tier without a variant", experiment.StartSpec{Tier: "strong", Candidate: "cand", CandidateShare: 0.2, Config: experiment.DefaultConfig()},
			[]string{"baseline_variant"}},
		{"invalid config", experiment.StartSpec{Tier: "cheap", Candidate: "cand", CandidateShare: 0.2, Config: badConfig},
			[]string{"config.alpha"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.svc.Start(t.Context(), tt.spec)
			var ve *fault.ValidationError
			require.ErrorAs(t, err, &ve)
			var fields []string
			for _, v := range ve.Violations {
				fields = append(fields, v.Field)
			}
			require.ElementsMatch(t, tt.fields, fields, "%v", err)
		})
	}
	list, err := w.svc.List(t.Context(), experiment.ListFilter{})
	require.NoError(t, err)
	require.Empty(t, list, "nothing invalid was stored")

	// Valid: baseline defaults to the tier's variant; ids and names both work.
	r := w.start(experiment.StartSpec{Candidate: w.cand.String(), CandidateShare: 0.2, Actor: "alice"})
	require.Equal(t, w.base, r.BaselineVariantID)
	require.Equal(t, w.cand, r.CandidateVariantID)
	require.Equal(t, "alice", r.StartedBy)
	require.Equal(t, experiment.OutcomeContinue, r.Current.Outcome)
	require.True(t, r.Live)
	require.Len(t, r.Events, 1)
	require.Equal(t, "started", r.Events[0].Type)
	require.Equal(t, "alice", r.Events[0].Actor)
	s := w.start(experiment.StartSpec{Tier: "strong", Baseline: "other", Candidate: "cand"})
	require.Equal(t, w.other, s.BaselineVariantID)
}

func TestOneRunningExperimentPerTier(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	first := w.start(experiment.StartSpec{})

	_, err := w.svc.Start(ctx, experiment.StartSpec{Tier: "cheap", Candidate: "other", CandidateShare: 0.2, Config: experiment.DefaultConfig()})
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.ErrorContains(t, err, first.ID.String())

	// The database refuses a second running row even past the service's check.
	_, err = w.pool.Exec(ctx, `INSERT INTO experiments (id, tier, baseline_variant_id, candidate_variant_id, candidate_share, config, started_at)
		VALUES ($1, 'cheap', $2, $3, 0.2, '{}', now())`, uuid.New(), w.base, w.other)
	require.ErrorContains(t, err, "experiments_one_running_per_tier")

	// Concurrent starts in a free tier: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	for range 4 {
		wg.Go(func() {
			_, err := w.svc.Start(ctx, experiment.StartSpec{Tier: "strong", Baseline: "base", Candidate: "other", CandidateShare: 0.2, Config: experiment.DefaultConfig()})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, wins)
	for _, err := range errs {
		require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	}

	// Once the first has ended, the tier is free again.
	_, err = w.svc.Stop(ctx, first.ID, "alice", "")
	require.NoError(t, err)
	w.start(experiment.StartSpec{Candidate: "other"})
}

func TestAssignmentIsStickyDeterministicAndSplitsTraffic(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	wos := w.workOrders(2000)

	a, ok, err := w.svc.Assign(ctx, wos[0], "cheap", w.base)
	require.NoError(t, err)
	require.False(t, ok, "no experiment yet: %+v", a)

	exp := w.start(experiment.StartSpec{CandidateShare: 0.2})
	candidates := 0
	arms := map[uuid.UUID]string{}
	for _, wo := range wos {
		a, ok, err := w.svc.Assign(ctx, wo, "cheap", w.base)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, exp.ID, a.ExperimentID)
		require.False(t, a.Shadow)
		wantCandidate := experiment.Bucket(exp.ID, wo) < 0.2
		if wantCandidate {
			candidates++
			require.Equal(t, string(experiment.ArmCandidate), a.Arm)
			require.Equal(t, w.cand, a.VariantID)
		} else {
			require.Equal(t, string(experiment.ArmBaseline), a.Arm)
			require.Equal(t, w.base, a.VariantID)
		}
		arms[wo] = a.Arm
	}
	// Binomial(2000, 0.2): mean 400, SD ≈ 17.9; ±5 SD.
	require.InDelta(t, 400, candidates, 90, "candidate share %.3f", float64(candidates)/2000)

	var recorded int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*) FROM experiment_assignments WHERE experiment_id = $1`, exp.ID).Scan(&recorded))
	require.Equal(t, 2000, recorded)

	// A retry reuses the recorded arm even if the share has changed since:
	// the record, not a recomputation, decides.
	_, err = w.pool.Exec(ctx, `UPDATE experiments SET candidate_share = 1 WHERE id = $1`, exp.ID)
	require.NoError(t, err)
	for _, wo := range wos[:200] {
		a, ok, err := w.svc.Assign(ctx, wo, "cheap", w.base)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, arms[wo], a.Arm)
	}

	// Racing assignments of one new work order agree.
	fresh := w.workOrders(1)[0]
	var (
		wg  sync.WaitGroup
		got = make([]string, 8)
	)
	for i := range got {
		wg.Go(func() {
			a, ok, err := w.svc.Assign(ctx, fresh, "cheap", w.base)
			if err == nil && ok {
				got[i] = a.Arm
			}
		})
	}
	wg.Wait()
	for _, arm := range got {
		require.Equal(t, string(experiment.ArmCandidate), arm, "share is 1 now; all racers see the one recorded arm")
	}

	// Other tiers are untouched; an unknown work order is not found.
	_, ok, err = w.svc.Assign(ctx, wos[0], "strong", uuid.Nil)
	require.NoError(t, err)
	require.False(t, ok)
	_, _, err = w.svc.Assign(ctx, uuid.New(), "cheap", w.base)
	require.ErrorIs(t, err, fault.ErrNotFound)
}

func TestBucketIsDeterministicAndUniform(t *testing.T) {
	t.Parallel()
	exp := uuid.MustParse("01936f7e-0000-7000-8000-000000000001")
	other := uuid.MustParse("01936f7e-0000-7000-8000-000000000002")
	var below, same int
	for i := range 10000 {
		wo := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i), byte(i >> 8)})
		b := experiment.Bucket(exp, wo)
		require.GreaterOrEqual(t, b, 0.0)
		require.Less(t, b, 1.0)
		require.Equal(t, b, experiment.Bucket(exp, wo))
		if b < 0.2 {
			below++
		}
		if (b < 0.2) == (experiment.Bucket(other, wo) < 0.2) {
			same++
		}
	}
	require.InDelta(t, 2000, below, 200)
	// Independent across experiments: P(same arm) = 0.2² + 0.8² = 0.68.
	require.InDelta(t, 6800, same, 300)
}

func TestObserveCountsEachWorkOrderOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	exp := w.start(experiment.StartSpec{CandidateShare: 1})
	wos := w.workOrders(2)

	// Not assigned: ignored.
	require.NoError(t, w.svc.Observe(ctx, wos[1], experiment.ExecutionResult{VariantID: w.cand, Score: 9, Passed: true}))

	a, ok, err := w.svc.Assign(ctx, wos[0], "cheap", w.base)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, w.cand, a.VariantID)
	require.NoError(t, w.svc.Observe(ctx, wos[0], experiment.ExecutionResult{VariantID: w.cand, Crashed: true, Score: 8, CostUSD: 0.02}))
	// The retry succeeds, and a later re-run too: neither is counted again.
	require.NoError(t, w.svc.Observe(ctx, wos[0], experiment.ExecutionResult{VariantID: w.cand, Score: 9, Passed: true, CostUSD: 0.03}))
	require.NoError(t, w.svc.Observe(ctx, wos[0], experiment.ExecutionResult{VariantID: w.cand, Score: 9.5, Passed: true}))

	var n, repeats int
	require.NoError(t, w.pool.QueryRow(ctx, `SELECT count(*), max(repeats) FROM experiment_observations WHERE experiment_id = $1`,
		exp.ID).Scan(&n, &repeats))
	require.Equal(t, 1, n)
	require.Equal(t, 2, repeats)

	r := w.get(exp.ID)
	require.Equal(t, 1, r.Looks, "duplicates take no look")
	require.Equal(t, 1, r.Candidate.N)
	require.Equal(t, 1, r.Candidate.Crashed, "the first outcome counts: a crash")
	require.Zero(t, r.Candidate.Mean, "a crash scores 0")
	require.Zero(t, r.Candidate.Passed)
	require.InDelta(t, 0.02, r.Candidate.Spend, 1e-12)
	require.Zero(t, r.Baseline.N)
}

func TestRollbackStopsCandidateTraffic(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	exp := w.start(experiment.StartSpec{CandidateShare: 0.5})
	wos := w.workOrders(200)
	passed := func(arm string) bool { return arm == string(experiment.ArmBaseline) }
	used := w.drive(exp.ID, wos, &scoreFor{baseline: 7.5, candidate: 4.5}, passed)
	require.Less(t, used, len(wos), "the experiment must end")

	r := w.get(exp.ID)
	require.Equal(t, experiment.StatusRolledBack, r.Status)
	require.Equal(t, experiment.OutcomeRollback, r.Outcome)
	require.Equal(t, experiment.ActorAuto, r.DecidedBy)
	require.NotNil(t, r.EndedAt)
	require.False(t, r.Live)
	require.NotNil(t, r.Decision)
	d := r.Current
	require.Equal(t, experiment.OutcomeRollback, d.Outcome)
	require.Contains(t, d.Triggers, experiment.TriggerScoreWorse)
	require.Contains(t, d.Triggers, experiment.TriggerBelowFloor)
	require.NotNil(t, d.ScoreDiff)
	require.Less(t, d.ScoreDiff.Upper, 0.0)
	require.Equal(t, 10, d.Candidate.N, "decided at the first look allowed to roll back")
	require.Equal(t, d.Candidate.N, r.Candidate.N)
	require.Equal(t, d.Total, r.Looks)
	require.Less(t, r.ScoreDiffP, 0.05, "running minimum of the always-valid p-value")
	require.LessOrEqual(t, r.ScoreDiffP, d.ScoreDiffP)
	require.Equal(t, w.base, w.tierVariant("cheap"), "rollback keeps the baseline")

	last := r.Events[len(r.Events)-1]
	require.Equal(t, string(experiment.OutcomeRollback), last.Type)
	require.Equal(t, experiment.ActorAuto, last.Actor)
	var emitted experiment.Decision
	require.NoError(t, json.Unmarshal(last.Data, &emitted))
	require.Equal(t, experiment.OutcomeRollback, emitted.Outcome)
	require.Equal(t, d.Reason, emitted.Reason, "the event carries the decision with its numbers")

	// No more candidate traffic, and late outcomes change nothing.
	_, ok, err := w.svc.Assign(ctx, wos[used], "cheap", w.base)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, w.svc.Observe(ctx, wos[0], experiment.ExecutionResult{VariantID: w.base, Score: 9}))
	require.Equal(t, r.Looks, w.get(exp.ID).Looks)
}

func TestPromotionRepointsTheTier(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	exp := w.start(experiment.StartSpec{CandidateShare: 0.5})
	wos := w.workOrders(400)
	used := w.drive(exp.ID, wos, &scoreFor{baseline: 6.5, candidate: 8.5}, always)
	require.Less(t, used, len(wos), "the experiment must end")

	r := w.get(exp.ID)
	require.Equal(t, experiment.StatusPromoted, r.Status, r.Reason)
	d := r.Current
	require.Equal(t, experiment.OutcomePromote, d.Outcome)
	require.Equal(t, []experiment.Trigger{experiment.TriggerScoreBetter}, d.Triggers)
	require.GreaterOrEqual(t, d.Baseline.N, 30)
	require.GreaterOrEqual(t, d.Candidate.N, 30)
	require.Equal(t, 30, min(d.Baseline.N, d.Candidate.N), "promoted at the first look allowed to")
	require.Greater(t, d.ScoreDiff.Lower, 0.5)
	require.GreaterOrEqual(t, d.Floor.Lower, 6.0)
	require.NotNil(t, d.Welch, "reference figures are recorded")
	require.Equal(t, w.cand, w.tierVariant("cheap"), "the candidate is the tier's variant")

	// Per-arm figures for display.
	require.InDelta(t, 8.5, r.Candidate.Mean, 0.11)
	require.InDelta(t, 6.5, r.Baseline.Mean, 0.11)
	require.Equal(t, 1.0, r.Candidate.PassRate)
	require.NotNil(t, r.Candidate.ScoreCS)
	require.True(t, r.Candidate.ScoreCS.Contains(r.Candidate.Mean))
	require.InDelta(t, d.Floor.Lower, r.Candidate.ScoreCS.Lower, 1e-9, "the candidate's CS is the floor sequence")
	require.Greater(t, r.Candidate.CostPerAccepted, 0.01)
}

func TestInconclusiveAtBudgetThenAPersonDecides(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	cfg := experiment.DefaultConfig()
	cfg.BudgetWOs = 60
	exp := w.start(experiment.StartSpec{CandidateShare: 0.5, Config: cfg})
	wos := w.workOrders(100)
	used := w.drive(exp.ID, wos, &scoreFor{baseline: 7.5, candidate: 7.5}, always)
	require.Equal(t, 60, used)

	r := w.get(exp.ID)
	require.Equal(t, experiment.StatusInconclusive, r.Status, r.Reason)
	require.Equal(t, []experiment.Trigger{experiment.TriggerBudgetWOs}, r.Current.Triggers)
	require.Equal(t, w.base, w.tierVariant("cheap"), "inconclusive never promotes")
	_, ok, err := w.svc.Assign(ctx, wos[used], "cheap", w.base)
	require.NoError(t, err)
	require.False(t, ok, "no candidate traffic after inconclusive")

	// Stopping an ended experiment is refused; a person may promote it.
	_, err = w.svc.Stop(ctx, exp.ID, "carol", "")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	r, err = w.svc.Promote(ctx, exp.ID, "carol", "equal quality, cheaper model")
	require.NoError(t, err)
	require.Equal(t, experiment.StatusPromoted, r.Status)
	require.Equal(t, "carol", r.DecidedBy)
	require.Equal(t, experiment.TriggerManual, r.Current.Triggers[0])
	require.Contains(t, r.Reason, "cheaper model")
	require.Equal(t, 60, r.Current.Total, "the record carries the numbers at that moment")
	require.Equal(t, w.cand, w.tierVariant("cheap"))
	var types, actors []string
	for _, e := range r.Events {
		types, actors = append(types, e.Type), append(actors, e.Actor)
	}
	require.Equal(t, []string{"started", "inconclusive", "promote"}, types)
	require.Equal(t, []string{"unknown", "auto", "carol"}, actors)

	// Decided for good.
	_, err = w.svc.Rollback(ctx, exp.ID, "dave", "")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
}

func TestTimeBudget(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWorld(t, experiment.WithClock(clock))
	exp := w.start(experiment.StartSpec{CandidateShare: 0.5})
	wos := w.workOrders(2)
	require.Equal(t, 1, w.drive(exp.ID, wos[:1], &scoreFor{baseline: 7, candidate: 7}, always))
	require.Equal(t, experiment.StatusRunning, w.get(exp.ID).Status)

	mu.Lock()
	now = now.Add(15 * 24 * time.Hour)
	mu.Unlock()
	require.Equal(t, 1, w.drive(exp.ID, wos[1:], &scoreFor{baseline: 7, candidate: 7}, always))
	r := w.get(exp.ID)
	require.Equal(t, experiment.StatusInconclusive, r.Status)
	require.Equal(t, []experiment.Trigger{experiment.TriggerBudgetDuration}, r.Current.Triggers)
}

func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	exp := w.start(experiment.StartSpec{CandidateShare: 1})
	for i, wo := range w.workOrders(5) {
		a, ok, err := w.svc.Assign(ctx, wo, "cheap", w.base)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, experiment.StatusRunning, w.get(exp.ID).Status, "after %d crashes", i)
		require.NoError(t, w.svc.Observe(ctx, wo, experiment.ExecutionResult{VariantID: a.VariantID, Crashed: true}))
	}
	r := w.get(exp.ID)
	require.Equal(t, experiment.StatusStopped, r.Status)
	require.Equal(t, experiment.OutcomeBreakerStop, r.Outcome)
	require.Equal(t, []experiment.Trigger{experiment.TriggerCrashStreak}, r.Current.Triggers)
}

func TestShadowMode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	exp := w.start(experiment.StartSpec{CandidateShare: 1, Shadow: true})
	wos := w.workOrders(2)

	a, ok, err := w.svc.Assign(ctx, wos[0], "cheap", w.base)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, experiment.Assignment{VariantID: w.cand, ExperimentID: exp.ID, Arm: "candidate", Shadow: true}, a)

	// The published run is the baseline's; the copy is the candidate's.
	require.NoError(t, w.svc.Observe(ctx, wos[0], experiment.ExecutionResult{VariantID: w.base, Score: 7, Passed: true}))
	require.NoError(t, w.svc.Observe(ctx, wos[0], experiment.ExecutionResult{VariantID: w.cand, Score: 8, Passed: true, Shadow: true}))
	r := w.get(exp.ID)
	require.Equal(t, 1, r.Baseline.N)
	require.Equal(t, 7.0, r.Baseline.Mean)
	require.Equal(t, 1, r.Candidate.N)
	require.Equal(t, 8.0, r.Candidate.Mean)

	// A shadow outcome for a work order of a non-shadow experiment is not counted.
	w2 := newWorld(t)
	exp2 := w2.start(experiment.StartSpec{CandidateShare: 1})
	wo := w2.workOrders(1)[0]
	_, _, err = w2.svc.Assign(ctx, wo, "cheap", w2.base)
	require.NoError(t, err)
	require.NoError(t, w2.svc.Observe(ctx, wo, experiment.ExecutionResult{VariantID: w2.cand, Score: 8, Shadow: true}))
	require.Zero(t, w2.get(exp2.ID).Candidate.N)
}

func TestManualActionsRecordTheActor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()

	_, err := w.svc.Get(ctx, uuid.New())
	require.ErrorIs(t, err, fault.ErrNotFound)
	_, err = w.svc.Stop(ctx, uuid.New(), "alice", "")
	require.ErrorIs(t, err, fault.ErrNotFound)

	exp := w.start(experiment.StartSpec{CandidateShare: 0.5})
	w.drive(exp.ID, w.workOrders(6), &scoreFor{baseline: 7, candidate: 7}, always)
	r, err := w.svc.Stop(ctx, exp.ID, "alice", "provider outage")
	require.NoError(t, err)
	require.Equal(t, experiment.StatusStopped, r.Status)
	require.Equal(t, experiment.OutcomeStop, r.Outcome)
	require.Equal(t, "alice", r.DecidedBy)
	require.Equal(t, 6, r.Current.Total)
	require.Equal(t, experiment.TriggerManual, r.Current.Triggers[0])
	require.Contains(t, r.Reason, "provider outage")
	require.Contains(t, r.Reason, "the rule at this look: continue")
	require.Equal(t, "alice", r.Events[len(r.Events)-1].Actor)
	require.Equal(t, w.base, w.tierVariant("cheap"))

	_, err = w.svc.Stop(ctx, exp.ID, "alice", "")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)

	// A stopped experiment can still be resolved; the actor defaults to unknown.
	r, err = w.svc.Rollback(ctx, exp.ID, "", "")
	require.NoError(t, err)
	require.Equal(t, experiment.StatusRolledBack, r.Status)
	require.Equal(t, "unknown", r.DecidedBy)
	require.Equal(t, *w.get(exp.ID).EndedAt, *r.EndedAt, "the end time is the first end")

	// Promoting a stopped experiment while another runs in the tier is refused.
	exp2 := w.start(experiment.StartSpec{Candidate: "other"})
	_, err = w.svc.Stop(ctx, exp2.ID, "bob", "")
	require.NoError(t, err)
	exp3 := w.start(experiment.StartSpec{Candidate: "cand"})
	_, err = w.svc.Promote(ctx, exp2.ID, "bob", "")
	require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	require.Equal(t, w.base, w.tierVariant("cheap"))

	// Promoting the running one by hand re-points the tier.
	r, err = w.svc.Promote(ctx, exp3.ID, "erin", "")
	require.NoError(t, err)
	require.Equal(t, "erin", r.DecidedBy)
	require.Equal(t, w.cand, w.tierVariant("cheap"))

	list, err := w.svc.List(ctx, experiment.ListFilter{Tier: "cheap", Status: experiment.StatusStopped})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, exp2.ID, list[0].ID)
	list, err = w.svc.List(ctx, experiment.ListFilter{})
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, exp3.ID, list[0].ID, "newest first")
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	st, err := experiment.ParseStatus(" Rolled_Back ")
	require.NoError(t, err)
	require.Equal(t, experiment.StatusRolledBack, st)
	_, err = experiment.ParseStatus("paused")
	var ve *fault.ValidationError
	require.True(t, errors.As(err, &ve))
}

func TestConcurrentLooksDecideOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := t.Context()
	exp := w.start(experiment.StartSpec{CandidateShare: 1})
	wos := w.workOrders(30)
	for _, wo := range wos {
		_, ok, err := w.svc.Assign(ctx, wo, "cheap", w.base)
		require.NoError(t, err)
		require.True(t, ok)
	}
	// Every work order finishes twice (a retry racing its first run), all at
	// once; the candidate is far below the floor.
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(wos))
	for i, wo := range wos {
		for range 2 {
			wg.Go(func() {
				errs <- w.svc.Observe(ctx, wo, experiment.ExecutionResult{VariantID: w.cand, Score: 2 + float64(i%3), CostUSD: 0.01})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	r := w.get(exp.ID)
	require.Equal(t, experiment.StatusRolledBack, r.Status)
	require.Equal(t, 10, r.Current.Candidate.N, "looks are serialized: the rule fires at the first allowed look")
	require.Equal(t, 10, r.Candidate.N, "outcomes after the decision are not counted")
	require.Equal(t, 10, r.Looks)
	var decisions int
	for _, e := range r.Events {
		if e.Type != "started" {
			decisions++
		}
	}
	require.Equal(t, 1, decisions)
}
