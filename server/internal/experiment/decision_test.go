package experiment_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/internal/fault"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// observations turns scores into passing work orders of cost 1, one minute
// apart, so that only the score statistics can trigger anything.
func observations(arm experiment.Arm, scores ...float64) []experiment.Observation {
	obs := make([]experiment.Observation, len(scores))
	for i, s := range scores {
		obs[i] = experiment.Observation{Arm: arm, Score: s, Passed: true, Cost: 1, Finished: t0.Add(time.Duration(i) * time.Minute)}
	}
	return obs
}

// spread returns n scores alternating mean±sd, so the sample has that mean
// and (for even n) an SD just above sd.
func spread(n int, mean, sd float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = mean + sd*float64(i%2*2-1)
	}
	return xs
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, experiment.DefaultConfig().Validate())

	tests := []struct {
		field  string
		mutate func(*experiment.Config)
	}{
		{"alpha", func(c *experiment.Config) { c.Alpha = 1 }},
		{"alpha", func(c *experiment.Config) { c.Alpha = math.NaN() }},
		{"n_star_diff", func(c *experiment.Config) { c.NStarDiff = 0 }},
		{"n_star_diff", func(c *experiment.Config) { c.NStarDiff = math.Inf(1) }},
		{"n_star_floor", func(c *experiment.Config) { c.NStarFloor = -40 }},
		{"margin", func(c *experiment.Config) { c.Margin = -0.1 }},
		{"floor", func(c *experiment.Config) { c.Floor = 11 }},
		{"cost_ratio", func(c *experiment.Config) { c.CostRatio = 0 }},
		{"min_samples_rollback", func(c *experiment.Config) { c.MinSamplesRollback = 1 }},
		{"min_samples_promote", func(c *experiment.Config) { c.MinSamplesPromote = 0 }},
		{"budget_wos", func(c *experiment.Config) { c.BudgetWOs = 0 }},
		{"budget_duration", func(c *experiment.Config) { c.BudgetDuration = 0 }},
		{"breaker_consecutive", func(c *experiment.Config) { c.BreakerConsecutive = 0 }},
		{"spend_cap", func(c *experiment.Config) { c.SpendCap = -1 }},
	}
	for _, tc := range tests {
		cfg := experiment.DefaultConfig()
		tc.mutate(&cfg)
		err := cfg.Validate()
		var ve *fault.ValidationError
		require.ErrorAs(t, err, &ve, tc.field)
		require.Len(t, ve.Violations, 1, "%v", err)
		require.Equal(t, tc.field, ve.Violations[0].Field)
	}

	// The zero value reports every required field at once.
	var ve *fault.ValidationError
	require.ErrorAs(t, experiment.Config{}.Validate(), &ve)
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field)
	}
	require.ElementsMatch(t, []string{
		"alpha", "n_star_diff", "n_star_floor", "cost_ratio", "min_samples_rollback",
		"min_samples_promote", "budget_wos", "budget_duration", "breaker_consecutive",
	}, fields)
}

func TestEvaluateReferenceS1(t *testing.T) {
	t.Parallel()
	d := experiment.Evaluate(experiment.DefaultConfig(),
		observations(experiment.ArmBaseline, s1Baseline...),
		observations(experiment.ArmCandidate, s1Variant...),
		t0, t0.Add(time.Hour))

	require.Equal(t, experiment.OutcomeContinue, d.Outcome, d.Reason)
	require.False(t, d.Outcome.Final())
	require.Equal(t, []experiment.Trigger{experiment.TriggerInsufficientData}, d.Triggers)
	require.Contains(t, d.Reason, "promotion needs 30 each")

	require.NotNil(t, d.ScoreDiff)
	requireSig(t, 1.65, d.ScoreDiff.Estimate, "diff")
	requireSig(t, 0.269258, d.ScoreDiff.SE, "se")
	requireSig(t, 0.635318, d.ScoreDiff.Lower, "cs lower")
	requireSig(t, 2.66468, d.ScoreDiff.Upper, "cs upper")
	requireSig(t, 2.16593e-4, d.ScoreDiffP, "always-valid p")
	require.NotNil(t, d.Welch)
	requireSig(t, 6.12795, d.Welch.T, "welch t")
	requireSig(t, 19.7520, d.Welch.DF, "welch df")
	requireSig(t, 5.78200e-6, d.Welch.P, "welch p")
	require.NotNil(t, d.Floor)
	requireSig(t, 7.47494, d.Floor.Lower, "floor lower")
	requireSig(t, 8.72506, d.Floor.Upper, "floor upper")

	require.Equal(t, 12, d.Baseline.N)
	require.Equal(t, 10, d.Candidate.N)
	require.Equal(t, 22, d.Total)
	requireSig(t, 8.1, d.Candidate.Mean, "candidate mean")
	require.Equal(t, time.Hour, d.Elapsed)
}

func TestEvaluateReferenceS3(t *testing.T) {
	t.Parallel()
	d := experiment.Evaluate(experiment.DefaultConfig(),
		observations(experiment.ArmBaseline, s3Baseline...),
		observations(experiment.ArmCandidate, s3Variant...),
		t0, t0.Add(time.Hour))

	require.Equal(t, experiment.OutcomeRollback, d.Outcome, d.Reason)
	require.True(t, d.Outcome.Final())
	// The floor CS [4.87, 6.13] still reaches 6, so only the difference fires.
	require.Equal(t, []experiment.Trigger{experiment.TriggerScoreWorse}, d.Triggers)
	require.Contains(t, d.Reason, "score difference CS [-2.67, -0.7298] lies below 0")
	requireSig(t, -1.7, d.ScoreDiff.Estimate, "diff")
	requireSig(t, -2.67017, d.ScoreDiff.Lower, "cs lower")
	requireSig(t, -0.729833, d.ScoreDiff.Upper, "cs upper")
	requireSig(t, 4.87494, d.Floor.Lower, "floor lower")
	requireSig(t, 6.12506, d.Floor.Upper, "floor upper")
	requireSig(t, -6.75512, d.Welch.T, "welch t")
	requireSig(t, 17.5622, d.Welch.DF, "welch df")
	requireSig(t, 2.83697e-6, d.Welch.P, "welch p")

	// One WO fewer and the candidate is below MinSamplesRollback: continue.
	d = experiment.Evaluate(experiment.DefaultConfig(),
		observations(experiment.ArmBaseline, s3Baseline...),
		observations(experiment.ArmCandidate, s3Variant[:9]...),
		t0, t0.Add(time.Hour))
	require.Equal(t, experiment.OutcomeContinue, d.Outcome, d.Reason)
	require.NotNil(t, d.ScoreDiff, "numbers are reported even before they may decide")
}

func ExampleEvaluate() {
	baseline := []experiment.Observation{}
	for i, s := range []float64{7.2, 6.8, 7.6, 8.0, 6.4, 7.0, 7.8, 6.6, 7.4, 7.2} {
		baseline = append(baseline, experiment.Observation{Score: s, Passed: true, Cost: 0.02, Finished: t0.Add(time.Duration(i) * time.Minute)})
	}
	candidate := []experiment.Observation{}
	for i, s := range []float64{5.2, 6.0, 4.8, 5.6, 6.4, 5.0, 5.8, 4.6, 6.2, 5.4} {
		candidate = append(candidate, experiment.Observation{Score: s, Passed: true, Cost: 0.02, Finished: t0.Add(time.Duration(i) * time.Minute)})
	}
	d := experiment.Evaluate(experiment.DefaultConfig(), baseline, candidate, t0, t0.Add(time.Hour))
	fmt.Println(d.Outcome)
	fmt.Println(d.Reason)
	// Output:
	// rollback
	// rollback: score difference CS [-2.67, -0.7298] lies below 0
}

func TestEvaluateRules(t *testing.T) {
	t.Parallel()
	cfg := experiment.DefaultConfig()
	crash := experiment.Observation{Arm: experiment.ArmCandidate, Crashed: true, Cost: 1}
	withCrashes := func(obs []experiment.Observation, k int) []experiment.Observation {
		obs = slices.Clone(obs)
		last := obs[len(obs)-1].Finished
		for i := range k {
			c := crash
			c.Finished = last.Add(time.Duration(i+1) * time.Minute)
			obs = append(obs, c)
		}
		return obs
	}
	good := observations(experiment.ArmBaseline, spread(40, 6.5, 1)...)

	tests := []struct {
		name      string
		cfg       func(*experiment.Config)
		baseline  []experiment.Observation
		candidate []experiment.Observation
		elapsed   time.Duration
		outcome   experiment.Outcome
		triggers  []experiment.Trigger
	}{
		{
			name:      "no candidate data is continue",
			baseline:  good,
			candidate: nil,
			outcome:   experiment.OutcomeContinue,
			triggers:  []experiment.Trigger{experiment.TriggerInsufficientData},
		},
		{
			name:      "breaker before any statistic",
			baseline:  good,
			candidate: withCrashes(observations(experiment.ArmCandidate, 7), 5),
			outcome:   experiment.OutcomeBreakerStop,
			triggers:  []experiment.Trigger{experiment.TriggerCrashStreak},
		},
		{
			name:      "one crash short of the breaker",
			baseline:  good,
			candidate: withCrashes(observations(experiment.ArmCandidate, 7), 4),
			outcome:   experiment.OutcomeContinue,
			triggers:  []experiment.Trigger{experiment.TriggerInsufficientData},
		},
		{
			name:      "zero scores count toward the breaker",
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, 7, 0, 0, 0, 0, 0),
			outcome:   experiment.OutcomeBreakerStop,
			triggers:  []experiment.Trigger{experiment.TriggerCrashStreak},
		},
		{
			name:      "a streak that ended still trips the breaker",
			baseline:  good,
			candidate: append(observations(experiment.ArmCandidate, 7, 0, 0, 0, 0, 0), experiment.Observation{Score: 8, Passed: true, Finished: t0.Add(time.Hour)}),
			outcome:   experiment.OutcomeBreakerStop,
			triggers:  []experiment.Trigger{experiment.TriggerCrashStreak},
		},
		{
			name:      "interrupted failures do not trip the breaker",
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, 0, 0, 0, 0, 7, 0, 0, 0, 0),
			outcome:   experiment.OutcomeContinue,
		},
		{
			name:      "breaker precedes rollback",
			baseline:  observations(experiment.ArmBaseline, s3Baseline...),
			candidate: withCrashes(observations(experiment.ArmCandidate, s3Variant...), 5),
			outcome:   experiment.OutcomeBreakerStop,
			triggers:  []experiment.Trigger{experiment.TriggerCrashStreak},
		},
		{
			name:      "spend cap",
			cfg:       func(c *experiment.Config) { c.SpendCap = 5 },
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, 7, 7, 7, 7, 7),
			outcome:   experiment.OutcomeBreakerStop,
			triggers:  []experiment.Trigger{experiment.TriggerSpendCap},
		},
		{
			name:      "under the spend cap",
			cfg:       func(c *experiment.Config) { c.SpendCap = 5 },
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, 7, 7, 7, 7),
			outcome:   experiment.OutcomeContinue,
		},
		{
			name:      "clearly better promotes",
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, spread(30, 8.5, 1)...),
			outcome:   experiment.OutcomePromote,
			triggers:  []experiment.Trigger{experiment.TriggerScoreBetter},
		},
		{
			name:      "promotion waits for 30 WOs per arm",
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, spread(28, 8.5, 1)...),
			outcome:   experiment.OutcomeContinue,
			triggers:  []experiment.Trigger{experiment.TriggerInsufficientData},
		},
		{
			name:      "promotion waits for 30 baseline WOs",
			baseline:  observations(experiment.ArmBaseline, spread(28, 6.5, 1)...),
			candidate: observations(experiment.ArmCandidate, spread(40, 8.5, 1)...),
			outcome:   experiment.OutcomeContinue,
			triggers:  []experiment.Trigger{experiment.TriggerInsufficientData},
		},
		{
			name:      "better but not by the margin",
			baseline:  observations(experiment.ArmBaseline, spread(300, 6.5, 1)...),
			candidate: observations(experiment.ArmCandidate, spread(280, 6.9, 1)...),
			outcome:   experiment.OutcomeContinue,
		},
		{
			name:      "a larger margin blocks promotion",
			cfg:       func(c *experiment.Config) { c.Margin = 1.5 },
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, spread(30, 8.5, 1)...),
			outcome:   experiment.OutcomeContinue,
		},
		{
			name:      "better than a weak baseline but straddling the floor is not promoted",
			baseline:  observations(experiment.ArmBaseline, spread(40, 4, 0.6)...),
			candidate: observations(experiment.ArmCandidate, spread(40, 6.1, 0.6)...),
			outcome:   experiment.OutcomeContinue,
		},
		{
			name:      "better than a weak baseline but below the floor is rolled back",
			baseline:  observations(experiment.ArmBaseline, spread(40, 3, 0.6)...),
			candidate: observations(experiment.ArmCandidate, spread(40, 5, 0.6)...),
			outcome:   experiment.OutcomeRollback,
			triggers:  []experiment.Trigger{experiment.TriggerBelowFloor},
		},
		{
			name:      "crashes count as zero scores that did not pass",
			baseline:  good,
			candidate: crashEvery(observations(experiment.ArmCandidate, spread(40, 9, 0.5)...), 4),
			outcome:   experiment.OutcomeRollback,
			triggers:  []experiment.Trigger{experiment.TriggerPassRateWorse},
		},
		{
			name:      "pass rate worse",
			baseline:  good,
			candidate: failEvery(observations(experiment.ArmCandidate, spread(40, 6.5, 1)...), 2),
			outcome:   experiment.OutcomeRollback,
			// Half the acceptance at the same cost per WO also doubles the
			// cost per accepted WO.
			triggers: []experiment.Trigger{experiment.TriggerPassRateWorse, experiment.TriggerCostAboveRatio},
		},
		{
			name:      "cost per accepted WO above 1.25x rolls back even a better candidate",
			baseline:  good,
			candidate: withCost(observations(experiment.ArmCandidate, spread(30, 8.5, 1)...), 2),
			outcome:   experiment.OutcomeRollback,
			triggers:  []experiment.Trigger{experiment.TriggerCostAboveRatio},
		},
		{
			name:      "cost up to the ratio is allowed",
			baseline:  good,
			candidate: withCost(observations(experiment.ArmCandidate, spread(30, 8.5, 1)...), 1.2),
			outcome:   experiment.OutcomePromote,
			triggers:  []experiment.Trigger{experiment.TriggerScoreBetter},
		},
		{
			name:      "every rollback reason is reported",
			baseline:  good,
			candidate: withCost(failEvery(observations(experiment.ArmCandidate, spread(30, 4, 1)...), 1), 3),
			outcome:   experiment.OutcomeRollback,
			triggers: []experiment.Trigger{
				experiment.TriggerScoreWorse, experiment.TriggerBelowFloor,
				experiment.TriggerPassRateWorse, experiment.TriggerCostAboveRatio,
			},
		},
		{
			name:      "rollback precedes budget",
			baseline:  observations(experiment.ArmBaseline, s3Baseline...),
			candidate: observations(experiment.ArmCandidate, s3Variant...),
			elapsed:   30 * 24 * time.Hour,
			outcome:   experiment.OutcomeRollback,
			triggers:  []experiment.Trigger{experiment.TriggerScoreWorse},
		},
		{
			name:      "WO budget spent is inconclusive",
			baseline:  observations(experiment.ArmBaseline, spread(480, 6.8, 1.5)...),
			candidate: observations(experiment.ArmCandidate, spread(120, 6.8, 1.5)...),
			outcome:   experiment.OutcomeInconclusive,
			triggers:  []experiment.Trigger{experiment.TriggerBudgetWOs},
		},
		{
			name:      "one WO short of the budget",
			baseline:  observations(experiment.ArmBaseline, spread(480, 6.8, 1.5)...),
			candidate: observations(experiment.ArmCandidate, spread(119, 6.8, 1.5)...),
			outcome:   experiment.OutcomeContinue,
		},
		{
			name:      "time budget spent is inconclusive",
			baseline:  good,
			candidate: observations(experiment.ArmCandidate, spread(10, 6.5, 1)...),
			elapsed:   14 * 24 * time.Hour,
			outcome:   experiment.OutcomeInconclusive,
			triggers:  []experiment.Trigger{experiment.TriggerBudgetDuration},
		},
		{
			name:      "an invalid config decides nothing",
			cfg:       func(c *experiment.Config) { c.Alpha = 0 },
			baseline:  observations(experiment.ArmBaseline, s3Baseline...),
			candidate: withCrashes(observations(experiment.ArmCandidate, s3Variant...), 5),
			outcome:   experiment.OutcomeContinue,
			triggers:  []experiment.Trigger{experiment.TriggerInvalidConfig},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			elapsed := tc.elapsed
			if elapsed == 0 {
				elapsed = time.Hour
			}
			d := experiment.Evaluate(c, tc.baseline, tc.candidate, t0, t0.Add(elapsed))
			require.Equal(t, tc.outcome, d.Outcome, d.Reason)
			if tc.triggers != nil {
				require.Equal(t, tc.triggers, d.Triggers, d.Reason)
			}
			require.Contains(t, d.Reason, string(d.Outcome)+": ")
			require.Equal(t, c, d.Config)
			// Every decision must be recordable as is.
			_, err := json.Marshal(d)
			require.NoError(t, err)
		})
	}
}

func crashEvery(obs []experiment.Observation, k int) []experiment.Observation {
	obs = slices.Clone(obs)
	for i := range obs {
		if i%k == 0 {
			// Score and Passed are what a buggy caller might leave set; a
			// crash must override them.
			obs[i].Crashed = true
		}
	}
	return obs
}

func failEvery(obs []experiment.Observation, k int) []experiment.Observation {
	obs = slices.Clone(obs)
	for i := range obs {
		if i%k == 0 {
			obs[i].Passed = false
		}
	}
	return obs
}

func withCost(obs []experiment.Observation, cost float64) []experiment.Observation {
	obs = slices.Clone(obs)
	for i := range obs {
		// A little spread, as real costs have.
		obs[i].Cost = cost * (1 + 0.1*float64(i%3-1))
	}
	return obs
}

func TestCrashOverridesScore(t *testing.T) {
	t.Parallel()
	obs := observations(experiment.ArmCandidate, 9, 9, 9, 9)
	obs[0].Crashed = true
	d := experiment.Evaluate(experiment.DefaultConfig(), nil, obs, t0, t0)
	require.Equal(t, 1, d.Candidate.Crashed)
	require.Equal(t, 3, d.Candidate.Passed)
	require.InDelta(t, 27.0/4, d.Candidate.Mean, 1e-12)
	require.Equal(t, 1, d.Candidate.LongestFailureRun)

	// Out-of-range and NaN scores are clamped rather than poisoning the sums.
	obs = observations(experiment.ArmCandidate, 12, -3, math.NaN(), 5)
	d = experiment.Evaluate(experiment.DefaultConfig(), nil, obs, t0, t0)
	require.InDelta(t, 15.0/4, d.Candidate.Mean, 1e-12)
}

func TestEvaluateOrdersByFinishTime(t *testing.T) {
	t.Parallel()
	// Five zero scores, but not consecutive in time: the slice order would
	// trip the breaker, the finish order does not.
	obs := observations(experiment.ArmCandidate, 0, 0, 0, 0, 0, 7, 7)
	obs[2].Finished, obs[5].Finished = obs[5].Finished, obs[2].Finished
	shuffled := slices.Clone(obs)
	slices.Reverse(shuffled)
	before := slices.Clone(shuffled)

	d := experiment.Evaluate(experiment.DefaultConfig(), nil, shuffled, t0, t0)
	require.Equal(t, experiment.OutcomeContinue, d.Outcome, d.Reason)
	require.Equal(t, 3, d.Candidate.LongestFailureRun)
	require.Equal(t, before, shuffled, "Evaluate must not reorder its input")
}

func TestSplit(t *testing.T) {
	t.Parallel()
	obs := []experiment.Observation{
		{Arm: experiment.ArmBaseline, Score: 1},
		{Arm: experiment.ArmCandidate, Score: 2},
		{Arm: "other", Score: 3},
		{Arm: experiment.ArmBaseline, Score: 4},
	}
	b, c := experiment.Split(obs)
	require.Equal(t, []experiment.Observation{obs[0], obs[3]}, b)
	require.Equal(t, []experiment.Observation{obs[1]}, c)
}

// TestDecideMatchesEvaluate checks that the O(1) incremental path and the
// slice path give identical decisions at every look of a stream.
func TestDecideMatchesEvaluate(t *testing.T) {
	t.Parallel()
	cfg := experiment.DefaultConfig()
	cfg.SpendCap = 40
	gen := newStream(42, 6.8, 5.3, 0.3)
	var base, cand []experiment.Observation
	var tb, tc experiment.Tally
	for i := range 300 {
		o := gen.next(t0.Add(time.Duration(i) * time.Minute))
		if o.Arm == experiment.ArmCandidate {
			cand = append(cand, o)
			tc.Add(o)
		} else {
			base = append(base, o)
			tb.Add(o)
		}
		now := t0.Add(time.Duration(i) * time.Minute)
		want := experiment.Evaluate(cfg, base, cand, t0, now)
		got := experiment.Decide(cfg, &tb, &tc, t0, now)
		require.Equal(t, want, got, "look %d", i)
		if got.Outcome.Final() {
			require.Equal(t, experiment.OutcomeRollback, got.Outcome, got.Reason)
			return
		}
	}
	t.Fatal("a candidate 1.5 points worse was never rolled back")
}

func TestDecisionJSONWithoutData(t *testing.T) {
	t.Parallel()
	d := experiment.Evaluate(experiment.DefaultConfig(), nil, nil, t0, t0)
	require.Equal(t, experiment.OutcomeContinue, d.Outcome)
	require.Nil(t, d.ScoreDiff)
	require.Nil(t, d.Floor)
	require.Nil(t, d.PassDiff)
	require.Nil(t, d.CostExcess)
	require.Equal(t, 1.0, d.ScoreDiffP)
	_, err := json.Marshal(d)
	require.NoError(t, err)
}
