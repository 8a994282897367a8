package experiment

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moosehq/moose/server/internal/fault"
)

// Outcome is what the decision rule concludes at one look. Every outcome but
// OutcomeContinue is final.
type Outcome string

const (
	// OutcomeContinue: keep splitting traffic; not enough evidence yet.
	OutcomeContinue Outcome = "continue"
	// OutcomePromote: the candidate is clearly better; it replaces the baseline.
	OutcomePromote Outcome = "promote"
	// OutcomeRollback: the candidate is worse, below the floor or too costly.
	OutcomeRollback Outcome = "rollback"
	// OutcomeInconclusive: the budget is spent without a decision; candidate
	// traffic goes to zero, the baseline stays and a person decides.
	OutcomeInconclusive Outcome = "inconclusive"
	// OutcomeBreakerStop: the circuit breaker stopped the candidate (crash
	// streak or spend cap) without any statistics.
	OutcomeBreakerStop Outcome = "breaker_stop"
)

// Final reports whether the outcome ends the experiment.
func (o Outcome) Final() bool { return o != OutcomeContinue }

// Trigger names one condition that fired; a Decision lists all that did, so a
// record shows every reason and not only the first.
type Trigger string

const (
	TriggerCrashStreak      Trigger = "crash_streak"      // breaker: k consecutive crashes/timeouts/zero scores
	TriggerSpendCap         Trigger = "spend_cap"         // breaker: candidate spend reached the cap
	TriggerScoreWorse       Trigger = "score_worse"       // rollback: score-difference CS upper bound < 0
	TriggerBelowFloor       Trigger = "below_floor"       // rollback: candidate floor CS upper bound < Floor
	TriggerPassRateWorse    Trigger = "pass_rate_worse"   // rollback: pass-rate-difference CS upper bound < 0
	TriggerCostAboveRatio   Trigger = "cost_above_ratio"  // rollback: cost per accepted WO confidently > CostRatio × baseline
	TriggerScoreBetter      Trigger = "score_better"      // promote: every promotion condition held
	TriggerBudgetWOs        Trigger = "budget_wos"        // inconclusive: BudgetWOs work orders finished
	TriggerBudgetDuration   Trigger = "budget_duration"   // inconclusive: BudgetDuration elapsed
	TriggerInvalidConfig    Trigger = "invalid_config"    // continue: the Config failed validation; nothing is decided
	TriggerInsufficientData Trigger = "insufficient_data" // continue: too few WOs for a check
)

// Config holds the decision rule's parameters. Start from DefaultConfig; the
// zero value is invalid.
type Config struct {
	// Alpha bounds the probability, over all looks, that a confidence
	// sequence ever excludes the truth.
	Alpha float64
	// NStarDiff is N* for the two-arm sequences (score, pass rate, cost).
	NStarDiff float64
	// NStarFloor is N* for the candidate's one-sample floor sequence.
	NStarFloor float64
	// Margin is how far (in score points) the candidate's score must be
	// confidently above the baseline's to promote.
	Margin float64
	// Floor is the absolute score (0–10) the candidate must confidently reach
	// to promote, and confidently fall short of to be rolled back.
	Floor float64
	// CostRatio: the candidate is rolled back, and never promoted, when its
	// cost per accepted WO is confidently above CostRatio × the baseline's.
	CostRatio float64
	// MinSamplesPromote is the number of finished WOs each arm needs before
	// promotion is considered.
	MinSamplesPromote int
	// MinSamplesRollback is the number of finished candidate WOs needed before
	// rollback is considered (at least 2: a variance needs two points).
	MinSamplesRollback int
	// BudgetWOs is the total finished WOs (both arms) after which an
	// undecided experiment is inconclusive.
	BudgetWOs int
	// BudgetDuration is the time after the start after which an undecided
	// experiment is inconclusive.
	BudgetDuration time.Duration
	// BreakerConsecutive is k: that many consecutive candidate crashes,
	// timeouts or zero scores stop the candidate.
	BreakerConsecutive int
	// SpendCap stops the candidate once its total cost reaches it; 0 means no cap.
	SpendCap float64
}

// DefaultConfig returns the defaults of STATS.md.
func DefaultConfig() Config {
	return Config{
		Alpha:              0.05,
		NStarDiff:          200,
		NStarFloor:         40,
		Margin:             0.5,
		Floor:              6.0,
		CostRatio:          1.25,
		MinSamplesPromote:  30,
		MinSamplesRollback: 10,
		BudgetWOs:          600,
		BudgetDuration:     14 * 24 * time.Hour,
		BreakerConsecutive: 5,
		SpendCap:           0,
	}
}

// Validate reports every invalid field at once as a *fault.ValidationError.
// Comparisons are written so that NaN fails them.
func (c Config) Validate() error {
	// Allocated on the first problem only: Decide validates on every look.
	var v *fault.ValidationError
	problem := func(field, format string, args ...any) {
		if v == nil {
			v = &fault.ValidationError{}
		}
		v.Add(field, format, args...)
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		problem("alpha", "must be in (0, 1), got %v", c.Alpha)
	}
	if !(c.NStarDiff > 0) || math.IsInf(c.NStarDiff, 1) {
		problem("n_star_diff", "must be a positive finite number, got %v", c.NStarDiff)
	}
	if !(c.NStarFloor > 0) || math.IsInf(c.NStarFloor, 1) {
		problem("n_star_floor", "must be a positive finite number, got %v", c.NStarFloor)
	}
	if !(c.Margin >= 0 && c.Margin <= 10) {
		problem("margin", "must be in [0, 10] score points, got %v", c.Margin)
	}
	if !(c.Floor >= 0 && c.Floor <= 10) {
		problem("floor", "must be in [0, 10], got %v", c.Floor)
	}
	if !(c.CostRatio > 0) || math.IsInf(c.CostRatio, 1) {
		problem("cost_ratio", "must be a positive finite number, got %v", c.CostRatio)
	}
	if c.MinSamplesRollback < 2 {
		problem("min_samples_rollback", "must be at least 2, got %d", c.MinSamplesRollback)
	}
	if c.MinSamplesPromote < 2 {
		problem("min_samples_promote", "must be at least 2, got %d", c.MinSamplesPromote)
	}
	if c.BudgetWOs < 1 {
		problem("budget_wos", "must be positive, got %d", c.BudgetWOs)
	}
	if c.BudgetDuration <= 0 {
		problem("budget_duration", "must be positive, got %v", c.BudgetDuration)
	}
	if c.BreakerConsecutive < 1 {
		problem("breaker_consecutive", "must be at least 1, got %d", c.BreakerConsecutive)
	}
	if !(c.SpendCap >= 0) || math.IsInf(c.SpendCap, 1) {
		problem("spend_cap", "must be zero (no cap) or a positive finite amount, got %v", c.SpendCap)
	}
	return v.Err()
}

// Arm says which side of the experiment produced an observation.
type Arm string

const (
	ArmBaseline  Arm = "baseline"
	ArmCandidate Arm = "candidate"
)

// Observation is one finished work order's result in an experiment.
type Observation struct {
	Arm Arm
	// Score is the 0–10 score; ignored (taken as 0) when Crashed. Values
	// outside [0, 10] are clamped and NaN counts as 0.
	Score float64
	// Passed: the proposal was accepted (built and passed its checks).
	// Ignored (taken as false) when Crashed.
	Passed bool
	// Cost is what the work order spent, in any one currency unit.
	Cost float64
	// Crashed: the attempt crashed, timed out or never finished.
	Crashed bool
	// Finished orders observations for the circuit breaker.
	Finished time.Time
}

// effective returns the score and acceptance the rule counts: a crash is a
// zero that did not pass.
func (o Observation) effective() (score float64, passed bool) {
	if o.Crashed || math.IsNaN(o.Score) {
		return 0, false
	}
	return math.Min(10, math.Max(0, o.Score)), o.Passed
}

// Split separates observations by their Arm field, keeping order; those with
// another Arm value are dropped.
func Split(obs []Observation) (baseline, candidate []Observation) {
	for _, o := range obs {
		switch o.Arm {
		case ArmBaseline:
			baseline = append(baseline, o)
		case ArmCandidate:
			candidate = append(candidate, o)
		}
	}
	return baseline, candidate
}

// Tally is one arm's running state, updated in O(1) per finished work order,
// so that a caller evaluating after every WO (or a simulation) pays O(1) per
// look. Add observations in the order they finished: the crash streak depends
// on it. The zero value is an empty arm.
type Tally struct {
	scores  Accumulator
	costs   CostAccumulator
	passed  int
	crashed int
	spend   float64
	streak  int // current run of crashes/zero scores
	longest int // longest such run so far
}

// NewTally builds a Tally from observations, ordered by Finished (ties keep
// their slice order). The input is not modified.
func NewTally(obs []Observation) Tally {
	byTime := func(a, b Observation) int { return a.Finished.Compare(b.Finished) }
	if !slices.IsSortedFunc(obs, byTime) {
		obs = slices.Clone(obs)
		slices.SortStableFunc(obs, byTime)
	}
	var t Tally
	for _, o := range obs {
		t.Add(o)
	}
	return t
}

// Add records one finished work order.
func (t *Tally) Add(o Observation) {
	score, passed := o.effective()
	cost := o.Cost
	if math.IsNaN(cost) {
		cost = 0
	}
	t.scores.Add(score)
	t.costs.Add(cost, passed)
	t.spend += cost
	if passed {
		t.passed++
	}
	if o.Crashed {
		t.crashed++
	}
	if o.Crashed || score == 0 {
		t.streak++
		t.longest = max(t.longest, t.streak)
	} else {
		t.streak = 0
	}
}

// N is the number of finished work orders.
func (t *Tally) N() int { return t.scores.n }

// ArmReport is the descriptive side of one arm at a look.
type ArmReport struct {
	N        int
	Crashed  int
	Mean     float64 // mean effective score (crashes count 0)
	SD       float64 // sample SD before the variance floor
	Passed   int
	PassRate float64
	Spend    float64 // total cost
	// CostPerAccepted is mean cost / smoothed acceptance (x+1)/(n+2).
	CostPerAccepted float64
	// LongestFailureRun is the longest run of consecutive crashes, timeouts
	// or zero scores.
	LongestFailureRun int
}

func (t *Tally) report() ArmReport {
	s := t.scores.Summary()
	return ArmReport{
		N:                 s.N,
		Crashed:           t.crashed,
		Mean:              s.Mean,
		SD:                s.SD(),
		Passed:            t.passed,
		PassRate:          Proportion{t.passed, s.N}.Rate(),
		Spend:             t.spend,
		CostPerAccepted:   t.costs.Stats().PerAccepted(),
		LongestFailureRun: t.longest,
	}
}

// Decision is the outcome of one look with every number behind it, so that it
// can be recorded and audited as is. Statistic fields are nil when the arms
// had too little data to compute them.
type Decision struct {
	Outcome  Outcome
	Reason   string    // human-readable, names every trigger with its numbers
	Triggers []Trigger // machine-readable form of Reason
	Config   Config    // the parameters the decision was made under

	Baseline  ArmReport
	Candidate ArmReport
	Total     int           // finished WOs in both arms
	Elapsed   time.Duration // now − started

	// ScoreDiff is the CS (N* = NStarDiff) of candidate − baseline mean score,
	// after the variance floor; ScoreDiffP its always-valid p-value at this
	// look (fold into a RunningPValue across looks before reporting).
	ScoreDiff  *CS
	ScoreDiffP float64
	// Welch is the fixed-horizon t-test on the same floored summaries, for
	// reference only: it is not valid under continuous monitoring.
	Welch *Welch
	// Floor is the candidate's one-sample score CS (N* = NStarFloor).
	Floor *CS
	// PassDiff is the CS of candidate − baseline pass rate (smoothed
	// variance); PassDiffP its always-valid p-value; PassZ the pooled z-test
	// for reference.
	PassDiff  *CS
	PassDiffP float64
	PassZ     *ZTest
	// CostExcess is the CS of candidate cost per accepted WO minus CostRatio ×
	// the baseline's (decided on the equivalent linear contrast, see
	// Boundary.CostExcess); CostRatio is the point estimate of the candidate's cost
	// per accepted WO over the baseline's (0 when the baseline's is zero, so
	// that the Decision stays JSON-encodable).
	CostExcess *CS
	CostRatio  float64
}

// Evaluate applies the decision rule to everything observed so far. baseline
// and candidate hold each arm's finished work orders (the Arm field is not
// consulted; see Split). It costs O(n) (O(n log n) if the slices are not in
// finish order); callers that look after every WO can keep Tallies and call
// Decide instead, which gives the same answer in O(1).
func Evaluate(cfg Config, baseline, candidate []Observation, started, now time.Time) Decision {
	b, c := NewTally(baseline), NewTally(candidate)
	return Decide(cfg, &b, &c, started, now)
}

// Decide is Evaluate on running Tallies. The rule, in order (first match wins):
//
//  1. circuit breaker (no statistics): BreakerConsecutive consecutive
//     candidate crashes/timeouts/zero scores, or candidate spend ≥ SpendCap;
//  2. rollback, once the candidate has MinSamplesRollback WOs, if any of:
//     score-difference CS upper < 0; floor CS upper < Floor; pass-rate
//     difference CS upper < 0; cost-excess CS lower > 0;
//  3. promote, once both arms have MinSamplesPromote WOs, if all of:
//     score-difference CS lower > Margin; floor CS lower ≥ Floor; cost-excess
//     CS lower ≤ 0;
//  4. inconclusive when BudgetWOs or BudgetDuration is spent;
//  5. otherwise continue.
//
// An invalid cfg decides nothing: the result is OutcomeContinue with
// TriggerInvalidConfig and the validation error in Reason. A nil Tally is an
// empty arm. Decide only reads the Tallies.
func Decide(cfg Config, baseline, candidate *Tally, started, now time.Time) Decision {
	if baseline == nil {
		baseline = &Tally{}
	}
	if candidate == nil {
		candidate = &Tally{}
	}
	d := Decision{
		Outcome:    OutcomeContinue,
		Config:     cfg,
		Baseline:   baseline.report(),
		Candidate:  candidate.report(),
		Total:      baseline.N() + candidate.N(),
		Elapsed:    now.Sub(started),
		ScoreDiffP: 1,
		PassDiffP:  1,
	}
	if err := cfg.Validate(); err != nil {
		d.Triggers = []Trigger{TriggerInvalidConfig}
		d.Reason = "continue: nothing decided: " + err.Error()
		return d
	}
	d.computeStats(cfg, baseline, candidate)

	var why []string
	fire := func(t Trigger, format string, args ...any) {
		d.Triggers = append(d.Triggers, t)
		why = append(why, fmt.Sprintf(format, args...))
	}
	conclude := func(o Outcome) Decision {
		d.Outcome = o
		d.Reason = string(o) + ": " + strings.Join(why, "; ")
		return d
	}

	// 1. Circuit breaker: cheap, certain, and first, because a crashing
	// candidate must stop even before any statistic is possible.
	if candidate.longest >= cfg.BreakerConsecutive {
		fire(TriggerCrashStreak, "%d consecutive candidate crashes, timeouts or zero scores (limit %d)",
			candidate.longest, cfg.BreakerConsecutive)
	}
	if cfg.SpendCap > 0 && candidate.spend >= cfg.SpendCap {
		fire(TriggerSpendCap, "candidate spent %.4g, cap %.4g", candidate.spend, cfg.SpendCap)
	}
	if len(why) > 0 {
		return conclude(OutcomeBreakerStop)
	}

	// 2. Rollback: any single confident harm is enough.
	if candidate.N() >= cfg.MinSamplesRollback {
		if d.ScoreDiff != nil && d.ScoreDiff.Upper < 0 {
			fire(TriggerScoreWorse, "score difference CS %s lies below 0", fmtInterval(d.ScoreDiff))
		}
		if d.Floor != nil && d.Floor.Upper < cfg.Floor {
			fire(TriggerBelowFloor, "candidate score CS %s lies below the floor %.4g", fmtInterval(d.Floor), cfg.Floor)
		}
		if d.PassDiff != nil && d.PassDiff.Upper < 0 {
			fire(TriggerPassRateWorse, "pass-rate difference CS %s lies below 0", fmtInterval(d.PassDiff))
		}
		if d.CostExcess != nil && d.CostExcess.Lower > 0 {
			fire(TriggerCostAboveRatio, "cost per accepted WO exceeds %.4g× baseline by CS %s",
				cfg.CostRatio, fmtInterval(d.CostExcess))
		}
		if len(why) > 0 {
			return conclude(OutcomeRollback)
		}
	}

	// 3. Promote: every condition must hold.
	if baseline.N() >= cfg.MinSamplesPromote && candidate.N() >= cfg.MinSamplesPromote &&
		d.ScoreDiff != nil && d.ScoreDiff.Lower > cfg.Margin &&
		d.Floor != nil && d.Floor.Lower >= cfg.Floor &&
		d.CostExcess != nil && d.CostExcess.Lower <= 0 {
		fire(TriggerScoreBetter, "score difference CS %s lies above the margin %.4g, candidate score CS %s reaches the floor %.4g, cost per accepted WO not confidently above %.4g× baseline",
			fmtInterval(d.ScoreDiff), cfg.Margin, fmtInterval(d.Floor), cfg.Floor, cfg.CostRatio)
		return conclude(OutcomePromote)
	}

	// 4. Budget: stop spending traffic on an experiment that cannot decide.
	if d.Total >= cfg.BudgetWOs {
		fire(TriggerBudgetWOs, "%d WOs finished, budget %d, no decision", d.Total, cfg.BudgetWOs)
	}
	if d.Elapsed >= cfg.BudgetDuration {
		fire(TriggerBudgetDuration, "%v elapsed, budget %v, no decision", d.Elapsed, cfg.BudgetDuration)
	}
	if len(why) > 0 {
		return conclude(OutcomeInconclusive)
	}

	// 5. Continue, saying what is still missing.
	// Formatted without fmt: this branch runs on almost every look.
	itoa := strconv.Itoa
	switch {
	case candidate.N() < cfg.MinSamplesRollback:
		d.Triggers = append(d.Triggers, TriggerInsufficientData)
		why = append(why, "candidate has "+itoa(candidate.N())+" of "+itoa(cfg.MinSamplesRollback)+
			" WOs needed before any statistical decision")
	case baseline.N() < cfg.MinSamplesPromote || candidate.N() < cfg.MinSamplesPromote:
		d.Triggers = append(d.Triggers, TriggerInsufficientData)
		why = append(why, "baseline "+itoa(baseline.N())+" and candidate "+itoa(candidate.N())+
			" WOs, promotion needs "+itoa(cfg.MinSamplesPromote)+" each; score difference CS "+fmtInterval(d.ScoreDiff))
	default:
		why = append(why, "score difference CS "+fmtInterval(d.ScoreDiff)+", candidate score CS "+
			fmtInterval(d.Floor)+": no bound crossed yet")
	}
	return conclude(OutcomeContinue)
}

// computeStats fills the statistic fields that the arms' data allow.
func (d *Decision) computeStats(cfg Config, baseline, candidate *Tally) {
	diff := Boundary{Alpha: cfg.Alpha, NStar: cfg.NStarDiff}
	floor := Boundary{Alpha: cfg.Alpha, NStar: cfg.NStarFloor}

	sb := baseline.scores.Summary().WithSDFloor(ScoreSDFloor)
	sv := candidate.scores.Summary().WithSDFloor(ScoreSDFloor)
	if cs, err := diff.DiffMeans(sb, sv); err == nil {
		d.ScoreDiff = &cs
		d.ScoreDiffP = diff.PValue(cs.Estimate, cs.SE, cs.N)
	}
	if w, err := WelchTest(sb, sv); err == nil {
		d.Welch = &w
	}
	if cs, err := floor.Mean(sv); err == nil {
		d.Floor = &cs
	}

	// The proportion sequences work from one observation, but a pass-rate
	// verdict from fewer WOs than the score sequences need would be noise.
	pb, pv := Proportion{baseline.passed, baseline.N()}, Proportion{candidate.passed, candidate.N()}
	if pb.N >= 2 && pv.N >= 2 {
		if cs, err := diff.DiffProportions(pb, pv, true); err == nil {
			d.PassDiff = &cs
			d.PassDiffP = diff.PValue(cs.Estimate, cs.SE, cs.N)
		}
		if z, err := TwoProportionZTest(pb, pv); err == nil {
			d.PassZ = &z
		}
	}

	cb, cv := baseline.costs.Stats(), candidate.costs.Stats()
	if cs, err := diff.CostExcess(cb, cv, cfg.CostRatio); err == nil {
		d.CostExcess = &cs
	}
	if rb := cb.PerAccepted(); rb > 0 && cb.N > 0 && cv.N > 0 {
		d.CostRatio = cv.PerAccepted() / rb
	}
}

// fmtInterval formats a CS as [lower, upper] with four significant digits.
// It avoids fmt because Decide formats a reason on every look.
func fmtInterval(cs *CS) string {
	if cs == nil {
		return "n/a"
	}
	return "[" + strconv.FormatFloat(cs.Lower, 'g', 4, 64) + ", " + strconv.FormatFloat(cs.Upper, 'g', 4, 64) + "]"
}
