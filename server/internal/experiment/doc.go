// Package experiment decides A/B experiments between proposer variants.
//
// An experiment sends a fixed share of a tier's work orders (WOs) to a
// candidate variant and the rest to the baseline. Results arrive one WO at a
// time and people watch them continuously, so the rule is evaluated after
// every finished WO and must stay honest under that constant peeking. This
// file describes the rule; stats.go holds the statistics and decision.go the
// rule itself. Both are pure functions of the observations: no database, no
// clock, no randomness, so the same data always gives the same Decision.
//
// # Why not a t-test
//
// A fixed-horizon test (Welch's t-test, p < 0.05) controls its error rate for
// a single look at a sample size fixed in advance. Checked after every WO it
// will, given enough looks, almost surely declare a difference between two
// identical variants; in this package's A/A simulation it promotes about one
// experiment in nine instead of one in forty. The rule therefore decides on
// always-valid confidence sequences (CS): intervals that contain the true value
// at every look simultaneously with probability 1 − α, so stopping the first
// time one crosses a threshold is legitimate. Welch and pooled z-test figures
// are still computed and recorded, for people who know how to read them, but
// they never decide.
//
// # The confidence sequences
//
// The sequences are the asymptotic CS of Waudby-Smith et al. (arXiv
// 2103.06476) in the normal-mixture form of Howard et al. (2021, Ann. Statist.
// 49(2)), as GrowthBook's sequential testing uses them. With an estimate, its
// ordinary standard error SE and N observations in total:
//
//	ρ² = (−2 ln α + ln(1 − 2 ln α)) / N*
//	a  = N ρ²
//	CS = estimate ± SE · sqrt( 2(a+1)/a · ln( sqrt(a+1) / α ) )
//
// The multiplier replaces the familiar 1.96; it is always larger (the price of
// looking every time) and is smallest near N = N*, the tuning sample size. The
// matching always-valid p-value is min(1, 1/E), E = exp(a Z²/(2(a+1))) /
// sqrt(a+1), Z = estimate/SE; only its running minimum over looks is valid,
// which RunningPValue keeps. Four sequences feed the rule (see Boundary):
//
//   - score difference, candidate − baseline mean score (0–10), SE² = s_V²/n_V +
//     s_B²/n_B, N* = 200 by default;
//   - the candidate's own mean score, one-sample (SE² = s²/n, N = n), N* = 40,
//     against the absolute floor of 6/10;
//   - pass-rate difference, SE² = p(1−p)/n per arm with the smoothed rate
//     p = (x+1)/(n+2), so that 10 passes out of 10 does not claim a variance
//     of zero;
//   - cost per accepted WO, candidate minus 1.25 × baseline, where an arm's
//     cost per accepted WO R = c̄/ā is its mean cost per WO over its smoothed
//     acceptance rate. "R_V > 1.25·R_B" is tested in the equivalent linear
//     form c̄_V·ā_B − 1.25·c̄_B·ā_V > 0, whose delta-method SE (covariance of
//     cost and acceptance included) stays sensible when acceptance is near
//     zero, where a ratio's SE explodes (see Boundary.CostExcess).
//
// Score standard deviations below 0.5 are raised to 0.5 (ScoreSDFloor): a few
// identical early scores would otherwise make an interval of zero width and
// let a lucky streak decide.
//
// # The rule
//
// Evaluate (or Decide, its O(1) incremental form) applies these steps in order
// after every finished WO; the first that fires decides, and every decision
// except "continue" is final:
//
//  1. Circuit breaker, no statistics: k (default 5) consecutive candidate WOs
//     that crashed, timed out or scored zero, or candidate spend reaching the
//     spend cap, stop the candidate (OutcomeBreakerStop). It comes first
//     because a broken candidate must stop before any statistic is possible.
//  2. Roll back, once the candidate has at least 10 finished WOs, if any of:
//     the score-difference CS lies entirely below 0; the candidate's floor CS
//     lies entirely below 6.0; the pass-rate-difference CS lies entirely below
//     0; the cost-per-accepted-WO excess CS lies entirely above 0. Any one
//     confident harm is enough, and all that hold are recorded.
//  3. Promote only if all of: at least 30 finished WOs in each arm; the
//     score-difference CS lies entirely above the margin (0.5 points, so that
//     a trivially better variant is not churned in); the candidate's floor CS
//     lies at or above 6.0; the cost excess is not confidently above 0.
//  4. Budget: after 600 WOs in total or 14 days without a decision the
//     experiment is inconclusive: candidate traffic goes to zero, the baseline
//     stays, a person decides. Inconclusive never promotes.
//  5. Otherwise continue. Too little data is always "continue", never a
//     failure: a statistic that cannot be computed yet simply does not fire.
//
// A crashed, timed-out or unfinished WO counts as a score of 0 that did not
// pass (its cost still counts). The Decision carries the outcome, a
// human-readable reason naming every trigger with its numbers, the triggers in
// machine form, the Config used and every statistic (per-arm summaries, each
// CS, the always-valid p-values, the Welch and z figures), so it can be stored
// as the record of why the experiment ended.
//
// # Operating characteristics
//
// simulate_test.go runs the real rule after every WO of synthetic experiments
// (scores normal with SD 1.5 around 6.8, clipped to [0, 10]; 2% crashes;
// acceptance rising with score; log-normal costs; 20% candidate share; 600-WO
// budget). With the defaults: identical variants are promoted in none of 500
// experiments and rolled back in about 2.4%; a candidate 1.5 points better is
// promoted in about 98% of experiments; one 1.5 points worse is rolled back
// in all of them, usually well before the budget.
//
// # Using it
//
// The service that owns experiments keeps each arm's observations (or a Tally
// per arm, updated as WOs finish) and calls Evaluate or Decide after each
// finished WO with the experiment's start time and the current time; on a
// final outcome it acts and stores the Decision. The always-valid p-values in
// a Decision are per look: fold them into a RunningPValue persisted with the
// experiment before showing them. Validate a Config when the experiment is
// created; Evaluate refuses to decide anything on an invalid one.
package experiment
