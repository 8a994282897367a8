package experiment

import (
	"errors"
	"math"
)

// ErrInsufficientData reports that a statistic cannot be computed from the data
// given: too few observations, or a standard error of zero where one is needed.
// The decision rule treats it as "not yet", never as a failure.
var ErrInsufficientData = errors.New("insufficient data")

// ScoreSDFloor is the smallest standard deviation assumed for a score arm.
// Early on a handful of identical scores would give a variance of zero and an
// interval of zero width, which would let a lucky streak decide the experiment;
// flooring the SD at half a point keeps early intervals honest.
const ScoreSDFloor = 0.5

// Summary describes one sample: its size, mean and sample variance (n−1
// denominator; zero when N < 2).
type Summary struct {
	N        int
	Mean     float64
	Variance float64
}

// Summarize computes the Summary of xs in one pass (Welford's update, which
// stays accurate where the textbook sum-of-squares formula cancels).
func Summarize(xs []float64) Summary {
	var acc Accumulator
	for _, x := range xs {
		acc.Add(x)
	}
	return acc.Summary()
}

// SD is the sample standard deviation.
func (s Summary) SD() float64 { return math.Sqrt(s.Variance) }

// StdErr is the standard error of the mean, sqrt(s²/n); zero for an empty sample.
func (s Summary) StdErr() float64 {
	if s.N == 0 {
		return 0
	}
	return math.Sqrt(s.Variance / float64(s.N))
}

// WithSDFloor returns s with its standard deviation raised to at least minSD.
func (s Summary) WithSDFloor(minSD float64) Summary {
	if minSD > 0 && !(s.Variance >= minSD*minSD) {
		s.Variance = minSD * minSD
	}
	return s
}

// Accumulator builds a Summary one observation at a time in O(1) per
// observation, so a caller that evaluates after every work order does not
// re-read the history. The zero value is an empty sample.
type Accumulator struct {
	n    int
	mean float64
	m2   float64 // sum of squared deviations from the running mean
}

// Add includes x in the sample.
func (a *Accumulator) Add(x float64) {
	a.n++
	d := x - a.mean
	a.mean += d / float64(a.n)
	a.m2 += d * (x - a.mean)
}

// Summary returns the sample's size, mean and n−1 variance.
func (a Accumulator) Summary() Summary {
	s := Summary{N: a.n, Mean: a.mean}
	if a.n > 1 {
		s.Variance = math.Max(0, a.m2/float64(a.n-1))
	}
	return s
}

// Proportion is a count of successes out of N trials.
type Proportion struct {
	Successes int
	N         int
}

// Rate is the plain estimate x/n (zero when N is zero).
func (p Proportion) Rate() float64 {
	if p.N == 0 {
		return 0
	}
	return float64(p.Successes) / float64(p.N)
}

// Smoothed is (x+1)/(n+2): the rate with one pseudo-success and one
// pseudo-failure, so that 10/10 or 0/10 does not claim a variance of zero.
func (p Proportion) Smoothed() float64 {
	return float64(p.Successes+1) / float64(p.N+2)
}

// Welch is Welch's unequal-variance t-test of variant minus baseline. It is a
// fixed-horizon test: valid for one look only, so the decision rule records it
// for reference and never acts on it.
type Welch struct {
	Diff float64 // mean(variant) − mean(baseline)
	SE   float64 // sqrt(s_V²/n_V + s_B²/n_B)
	T    float64 // Diff / SE
	DF   float64 // Welch–Satterthwaite degrees of freedom
	P    float64 // two-sided p-value
}

// WelchTest compares two samples. It needs at least two observations per arm
// and a positive standard error.
func WelchTest(baseline, variant Summary) (Welch, error) {
	if baseline.N < 2 || variant.N < 2 {
		return Welch{}, ErrInsufficientData
	}
	vb := baseline.Variance / float64(baseline.N)
	vv := variant.Variance / float64(variant.N)
	se2 := vb + vv
	if !(se2 > 0) {
		return Welch{}, ErrInsufficientData
	}
	w := Welch{Diff: variant.Mean - baseline.Mean, SE: math.Sqrt(se2)}
	w.T = w.Diff / w.SE
	w.DF = se2 * se2 / (vb*vb/float64(baseline.N-1) + vv*vv/float64(variant.N-1))
	w.P = studentTTwoSided(w.T, w.DF)
	return w, nil
}

// ZTest is the pooled two-proportion z-test of variant minus baseline; like
// Welch it is a single-look test recorded for reference.
type ZTest struct {
	Diff float64 // rate(variant) − rate(baseline)
	SE   float64 // pooled standard error
	Z    float64
	P    float64 // two-sided normal p-value
}

// TwoProportionZTest compares two pass rates with the pooled standard error
// sqrt(p(1−p)(1/n_B + 1/n_V)), p = (x_B+x_V)/(n_B+n_V).
func TwoProportionZTest(baseline, variant Proportion) (ZTest, error) {
	if baseline.N < 1 || variant.N < 1 {
		return ZTest{}, ErrInsufficientData
	}
	pooled := float64(baseline.Successes+variant.Successes) / float64(baseline.N+variant.N)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(baseline.N) + 1/float64(variant.N)))
	if !(se > 0) {
		return ZTest{}, ErrInsufficientData
	}
	z := ZTest{Diff: variant.Rate() - baseline.Rate(), SE: se}
	z.Z = z.Diff / se
	z.P = math.Erfc(math.Abs(z.Z) / math.Sqrt2)
	return z, nil
}

// StudentTCDF is P(T ≤ t) for Student's t distribution with df degrees of
// freedom (df may be fractional, as Welch's is). It returns NaN for df ≤ 0.
func StudentTCDF(t, df float64) float64 {
	if math.IsNaN(t) || !(df > 0) {
		return math.NaN()
	}
	tail := studentTTwoSided(t, df) / 2 // P(T > |t|)
	if t > 0 {
		return 1 - tail
	}
	return tail
}

// studentTTwoSided is P(|T| ≥ |t|) = I_x(df/2, 1/2) with x = df/(df+t²),
// computed directly rather than as 1−CDF so tiny p-values keep their digits.
func studentTTwoSided(t, df float64) float64 {
	if math.IsInf(df, 1) {
		return math.Erfc(math.Abs(t) / math.Sqrt2)
	}
	if math.IsInf(t, 0) {
		return 0
	}
	return regIncBeta(df/2, 0.5, df/(df+t*t))
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), evaluated
// with its continued fraction (DLMF 8.17.22) where that converges quickly and
// through the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) elsewhere.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsNaN(a) || math.IsNaN(b):
		return math.NaN()
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	// x^a (1−x)^b / B(a,b), in logs to avoid overflow for large df.
	front := math.Exp(a*math.Log(x) + b*math.Log1p(-x) - (la + lb - lab))
	if x < (a+1)/(a+b+2) {
		return front * betaContinuedFraction(a, b, x) / a
	}
	return 1 - front*betaContinuedFraction(b, a, 1-x)/b
}

// betaContinuedFraction evaluates the continued fraction for I_x(a,b) with the
// modified Lentz method. The even and odd coefficients are
//
//	d_{2m}   =  m(b−m)x / ((a+2m−1)(a+2m))
//	d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1))
func betaContinuedFraction(a, b, x float64) float64 {
	const (
		tiny    = 1e-300
		epsilon = 1e-15
		maxIter = 500
	)
	clamp := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	c := 1.0
	d := 1 / clamp(1-(a+b)*x/(a+1))
	h := d
	for m := 1.0; m <= maxIter; m++ {
		even := m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		d = 1 / clamp(1+even*d)
		c = clamp(1 + even/c)
		h *= d * c

		odd := -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		d = 1 / clamp(1+odd*d)
		c = clamp(1 + odd/c)
		step := d * c
		h *= step
		if math.Abs(step-1) < epsilon {
			break
		}
	}
	return h
}

// Interval is a closed interval [Lower, Upper].
type Interval struct {
	Lower float64
	Upper float64
}

// Contains reports whether x lies in the interval.
func (i Interval) Contains(x float64) bool { return i.Lower <= x && x <= i.Upper }

// CS is one look at an always-valid confidence sequence: an estimate, its
// standard error, the sample size the boundary was evaluated at, and the
// interval. Unlike a fixed-horizon confidence interval, the probability that
// the true value ever leaves the sequence, over all looks, is at most α
// (asymptotically), so checking it after every work order is allowed.
type CS struct {
	Estimate float64
	SE       float64
	N        int
	Interval
}

// Boundary is the asymptotic always-valid confidence sequence of
// Waudby-Smith et al. (arXiv 2103.06476), in the normal-mixture form of
// Howard et al. (2021), as GrowthBook uses it:
//
//	ρ² = (−2 ln α + ln(1 − 2 ln α)) / N*
//	a  = N ρ²
//	estimate ± SE · sqrt( 2(a+1)/a · ln( sqrt(a+1) / α ) )
//
// N* is the sample size at which the sequence is tightest relative to a fixed
// interval; choosing it near the expected sample size spends the width where
// decisions are likely.
type Boundary struct {
	Alpha float64 // error probability over all looks, in (0, 1)
	NStar float64 // tuning sample size N*, > 0
}

// valid reports whether the boundary's parameters make the formula finite.
func (b Boundary) valid() bool {
	return b.Alpha > 0 && b.Alpha < 1 && b.NStar > 0 && !math.IsInf(b.NStar, 1)
}

// a is N ρ², the mixture's precision scaled to the current sample size.
func (b Boundary) a(n int) float64 {
	l := -2 * math.Log(b.Alpha)
	return float64(n) * (l + math.Log1p(l)) / b.NStar
}

// Multiplier is the factor that replaces z_{1−α/2} in estimate ± factor·SE at
// total sample size n. It is NaN for n < 1 or an invalid Boundary.
func (b Boundary) Multiplier(n int) float64 {
	if n < 1 || !b.valid() {
		return math.NaN()
	}
	a := b.a(n)
	return math.Sqrt(2 * (a + 1) / a * (0.5*math.Log1p(a) - math.Log(b.Alpha)))
}

// Sequence evaluates the confidence sequence around estimate with standard
// error se at total sample size n.
func (b Boundary) Sequence(estimate, se float64, n int) (CS, error) {
	if n < 1 || !(se >= 0) || math.IsInf(se, 1) || math.IsNaN(estimate) {
		return CS{}, ErrInsufficientData
	}
	m := b.Multiplier(n)
	if math.IsNaN(m) {
		return CS{}, ErrInsufficientData
	}
	half := m * se
	return CS{Estimate: estimate, SE: se, N: n, Interval: Interval{Lower: estimate - half, Upper: estimate + half}}, nil
}

// PValue is the always-valid p-value for "true value = 0" at this look:
// min(1, 1/E) with E = exp(a Z²/(2(a+1))) / sqrt(a+1), Z = estimate/se. It is
// valid at any stopping time only as the running minimum over looks; keep it
// in a RunningPValue. It returns 1 when it cannot be computed.
func (b Boundary) PValue(estimate, se float64, n int) float64 {
	if n < 1 || !b.valid() || !(se > 0) || math.IsNaN(estimate) {
		return 1
	}
	a := b.a(n)
	z := estimate / se
	logE := a*z*z/(2*(a+1)) - 0.5*math.Log1p(a) // in logs: E overflows for large Z
	return math.Min(1, math.Exp(-logE))
}

// DiffMeans is the sequence for mean(variant) − mean(baseline) with
// SE² = s_V²/n_V + s_B²/n_B and N = n_V + n_B. Both arms need two observations.
// Apply WithSDFloor to score summaries first; this function uses them as given.
func (b Boundary) DiffMeans(baseline, variant Summary) (CS, error) {
	if baseline.N < 2 || variant.N < 2 {
		return CS{}, ErrInsufficientData
	}
	se := math.Sqrt(baseline.Variance/float64(baseline.N) + variant.Variance/float64(variant.N))
	return b.Sequence(variant.Mean-baseline.Mean, se, baseline.N+variant.N)
}

// Mean is the one-sample sequence for an arm's mean (SE² = s²/n, N = n), used
// for the absolute floor check. It needs two observations.
func (b Boundary) Mean(s Summary) (CS, error) {
	if s.N < 2 {
		return CS{}, ErrInsufficientData
	}
	return b.Sequence(s.Mean, s.StdErr(), s.N)
}

// DiffProportions is the sequence for rate(variant) − rate(baseline) with
// SE² = p(1−p)/n per arm. With smooth the variance uses p = (x+1)/(n+2), which
// keeps 10/10 from claiming certainty; the estimate is always the plain
// difference of rates, so smoothing widens early intervals without biasing
// them. Without smooth it is the textbook plug-in (STATS.md reference P1).
func (b Boundary) DiffProportions(baseline, variant Proportion, smooth bool) (CS, error) {
	if baseline.N < 1 || variant.N < 1 {
		return CS{}, ErrInsufficientData
	}
	pb, pv := baseline.Rate(), variant.Rate()
	if smooth {
		pb, pv = baseline.Smoothed(), variant.Smoothed()
	}
	se := math.Sqrt(pb*(1-pb)/float64(baseline.N) + pv*(1-pv)/float64(variant.N))
	return b.Sequence(variant.Rate()-baseline.Rate(), se, baseline.N+variant.N)
}

// RunningPValue keeps the running minimum of always-valid p-values over
// looks; the minimum, not the latest value, is what may be reported. The zero
// value has seen nothing and reports 1. To resume after a restart, Observe the
// stored minimum first.
type RunningPValue struct {
	min  float64
	seen bool
}

// Observe folds p into the minimum and returns the new minimum. NaN is ignored.
func (r *RunningPValue) Observe(p float64) float64 {
	if !math.IsNaN(p) && (!r.seen || p < r.min) {
		r.min, r.seen = math.Min(1, math.Max(0, p)), true
	}
	return r.Value()
}

// Value is the smallest p observed so far, or 1 before any.
func (r RunningPValue) Value() float64 {
	if !r.seen {
		return 1
	}
	return r.min
}

// CostStats summarizes an arm's per-work-order cost and acceptance jointly,
// because cost per accepted WO is a ratio of two means of the same units and
// its uncertainty depends on their covariance.
type CostStats struct {
	N          int
	Accepted   int     // work orders that passed
	MeanCost   float64 // mean cost per work order (all WOs, accepted or not)
	VarCost    float64 // sample variance of cost (n−1)
	CovCostAcc float64 // sample covariance of cost and the 0/1 acceptance indicator (n−1)
}

// acceptance is the smoothed acceptance rate (x+1)/(n+2): never zero, so cost
// per accepted WO stays finite when nothing has been accepted yet.
func (c CostStats) acceptance() float64 { return Proportion{c.Accepted, c.N}.Smoothed() }

// PerAccepted is mean cost / smoothed acceptance: the expected spend per
// accepted work order.
func (c CostStats) PerAccepted() float64 { return c.MeanCost / c.acceptance() }

// CostAccumulator builds CostStats in O(1) per work order (a bivariate Welford
// update). The zero value is empty.
type CostAccumulator struct {
	n        int
	accepted int
	meanC    float64
	meanA    float64
	m2C      float64
	cAC      float64 // co-moment of cost and acceptance
}

// Add includes one work order's cost and whether it was accepted.
func (c *CostAccumulator) Add(cost float64, accepted bool) {
	a := 0.0
	if accepted {
		a = 1
		c.accepted++
	}
	c.n++
	dc := cost - c.meanC
	da := a - c.meanA
	c.meanC += dc / float64(c.n)
	c.meanA += da / float64(c.n)
	c.m2C += dc * (cost - c.meanC)
	c.cAC += dc * (a - c.meanA)
}

// Stats returns the accumulated CostStats.
func (c CostAccumulator) Stats() CostStats {
	s := CostStats{N: c.n, Accepted: c.accepted, MeanCost: c.meanC}
	if c.n > 1 {
		s.VarCost = math.Max(0, c.m2C/float64(c.n-1))
		s.CovCostAcc = c.cAC / float64(c.n-1)
	}
	return s
}

// CostExcess is the guardrail "the variant's cost per accepted WO is above
// ratio × the baseline's". An arm's cost per accepted WO is R = c̄/ā, its mean
// cost per WO over its smoothed acceptance rate. The question R_V > ratio·R_B
// is asked in the equivalent linear form
//
//	D = c̄_V·ā_B − ratio·c̄_B·ā_V > 0
//
// (multiply both sides by ā_V·ā_B > 0), in the spirit of Fieller's method for
// ratios: D is a smooth function of four means, so the delta method gives a
// standard error that stays sensible when an acceptance rate is near zero,
// where the SE of a ratio estimate explodes. A candidate that never gets
// accepted is thus confidently too expensive instead of "too noisy to tell".
// Cost and acceptance are correlated within an arm (accepted attempts run the
// whole pipeline), so their sample covariance enters; acceptance variance uses
// the smoothed rate. N is n_V + n_B, as for the other differences. Both arms
// need two observations. Unlike a log ratio, D is defined when an arm costs
// nothing.
//
// The returned CS is the sequence for D rescaled by the plug-in ā_V·ā_B, so
// that its Estimate reads R_V − ratio·R_B in cost per accepted WO. The sign of
// each bound, which is all the decision rule uses, is exactly that of D's; the
// magnitudes are an approximate interval for R_V − ratio·R_B.
func (b Boundary) CostExcess(baseline, variant CostStats, ratio float64) (CS, error) {
	if baseline.N < 2 || variant.N < 2 || !(ratio > 0) {
		return CS{}, ErrInsufficientData
	}
	aB, aV := baseline.acceptance(), variant.acceptance()
	cB, cV := baseline.MeanCost, variant.MeanCost
	k := ratio
	// Gradient of D: ∂/∂c̄_V = ā_B, ∂/∂ā_V = −k·c̄_B, ∂/∂c̄_B = −k·ā_V,
	// ∂/∂ā_B = c̄_V; each arm contributes gᵀΣg/n with its own covariance Σ.
	varV := aB*aB*variant.VarCost - 2*aB*k*cB*variant.CovCostAcc + k*k*cB*cB*aV*(1-aV)
	varB := k*k*aV*aV*baseline.VarCost - 2*k*aV*cV*baseline.CovCostAcc + cV*cV*aB*(1-aB)
	// Non-negative for a true covariance matrix; mixing a smoothed variance
	// with a sample covariance can dip below zero by a hair.
	seD := math.Sqrt(math.Max(0, varV)/float64(variant.N) + math.Max(0, varB)/float64(baseline.N))
	scale := aV * aB
	return b.Sequence((cV*aB-k*cB*aV)/scale, seD/scale, baseline.N+variant.N)
}
