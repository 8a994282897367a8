package experiment_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/experiment"
)

// Reference samples from STATS.md.
var (
	s1Baseline = []float64{6.2, 7.0, 5.4, 6.8, 7.4, 5.8, 6.6, 7.2, 6.0, 6.4, 5.6, 7.0}
	s1Variant  = []float64{7.8, 8.4, 7.2, 8.8, 7.6, 8.0, 9.0, 7.4, 8.2, 8.6}
	s3Baseline = []float64{7.2, 6.8, 7.6, 8.0, 6.4, 7.0, 7.8, 6.6, 7.4, 7.2}
	s3Variant  = []float64{5.2, 6.0, 4.8, 5.6, 6.4, 5.0, 5.8, 4.6, 6.2, 5.4}
)

// requireSig asserts that got equals want to five significant digits: within
// half a unit of want's fifth significant digit.
func requireSig(t *testing.T, want, got float64, what string) {
	t.Helper()
	if want == 0 {
		require.InDelta(t, 0, got, 1e-12, what)
		return
	}
	tol := 0.5 * math.Pow(10, math.Floor(math.Log10(math.Abs(want)))-4)
	require.InDelta(t, want, got, tol, "%s: want %.6g, got %.8g", what, want, got)
}

func diffBoundary() experiment.Boundary  { return experiment.Boundary{Alpha: 0.05, NStar: 200} }
func floorBoundary() experiment.Boundary { return experiment.Boundary{Alpha: 0.05, NStar: 40} }

func TestReferenceValues(t *testing.T) {
	t.Parallel()
	type want struct {
		diff, se, tStat, df, p float64
		csLower, csUpper, avP  float64 // avP = 0: not given in STATS.md
		floorLower, floorUpper float64
	}
	tests := []struct {
		name              string
		baseline, variant []float64
		want              want
	}{
		{
			name: "S1", baseline: s1Baseline, variant: s1Variant,
			want: want{
				diff: 1.65, se: 0.269258, tStat: 6.12795, df: 19.7520, p: 5.78200e-6,
				csLower: 0.635318, csUpper: 2.66468, avP: 2.16593e-4,
				floorLower: 7.47494, floorUpper: 8.72506,
			},
		},
		{
			name: "S3", baseline: s3Baseline, variant: s3Variant,
			want: want{
				diff: -1.7, se: 0.251661, tStat: -6.75512, df: 17.5622, p: 2.83697e-6,
				csLower: -2.67017, csUpper: -0.729833,
				floorLower: 4.87494, floorUpper: 6.12506,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := experiment.Summarize(tc.baseline)
			v := experiment.Summarize(tc.variant)
			// The reference samples are all above the SD floor, so flooring
			// must not change them.
			require.Equal(t, b, b.WithSDFloor(experiment.ScoreSDFloor))
			require.Equal(t, v, v.WithSDFloor(experiment.ScoreSDFloor))

			w, err := experiment.WelchTest(b, v)
			require.NoError(t, err)
			requireSig(t, tc.want.diff, w.Diff, "welch diff")
			requireSig(t, tc.want.se, w.SE, "welch se")
			requireSig(t, tc.want.tStat, w.T, "welch t")
			requireSig(t, tc.want.df, w.DF, "welch df")
			requireSig(t, tc.want.p, w.P, "welch p")

			cs, err := diffBoundary().DiffMeans(b, v)
			require.NoError(t, err)
			require.Equal(t, len(tc.baseline)+len(tc.variant), cs.N)
			requireSig(t, tc.want.diff, cs.Estimate, "cs estimate")
			requireSig(t, tc.want.se, cs.SE, "cs se")
			requireSig(t, tc.want.csLower, cs.Lower, "cs lower")
			requireSig(t, tc.want.csUpper, cs.Upper, "cs upper")
			if tc.want.avP != 0 {
				requireSig(t, tc.want.avP, diffBoundary().PValue(cs.Estimate, cs.SE, cs.N), "always-valid p")
			}

			fl, err := floorBoundary().Mean(v)
			require.NoError(t, err)
			requireSig(t, tc.want.floorLower, fl.Lower, "floor lower")
			requireSig(t, tc.want.floorUpper, fl.Upper, "floor upper")
		})
	}
}

func TestReferenceP1(t *testing.T) {
	t.Parallel()
	b := experiment.Proportion{Successes: 120, N: 200}
	v := experiment.Proportion{Successes: 38, N: 50}

	z, err := experiment.TwoProportionZTest(b, v)
	require.NoError(t, err)
	requireSig(t, 0.16, z.Diff, "diff")
	requireSig(t, 2.09830, z.Z, "pooled z")
	requireSig(t, 0.0358787, z.P, "pooled p")

	cs, err := diffBoundary().DiffProportions(b, v, false)
	require.NoError(t, err)
	require.Equal(t, 250, cs.N)
	requireSig(t, 0.16, cs.Estimate, "cs estimate")
	requireSig(t, 0.0696276, cs.SE, "unpooled se")
	requireSig(t, -0.0515009, cs.Lower, "cs lower")
	requireSig(t, 0.371501, cs.Upper, "cs upper")
	requireSig(t, 0.300238, diffBoundary().PValue(cs.Estimate, cs.SE, cs.N), "always-valid p")

	// Smoothing keeps the plain estimate but uses (x+1)/(n+2) in the variance.
	sm, err := diffBoundary().DiffProportions(b, v, true)
	require.NoError(t, err)
	requireSig(t, 0.16, sm.Estimate, "smoothed estimate")
	pb, pv := 121.0/202, 39.0/52
	requireSig(t, math.Sqrt(pb*(1-pb)/200+pv*(1-pv)/50), sm.SE, "smoothed se")
}

func TestSmoothingAvoidsZeroWidth(t *testing.T) {
	t.Parallel()
	all := experiment.Proportion{Successes: 10, N: 10}
	plain, err := diffBoundary().DiffProportions(all, all, false)
	require.NoError(t, err)
	require.Zero(t, plain.SE, "plain plug-in claims certainty at 10/10")

	smooth, err := diffBoundary().DiffProportions(all, all, true)
	require.NoError(t, err)
	require.Greater(t, smooth.SE, 0.0)
	require.Less(t, smooth.Lower, 0.0)
	require.Greater(t, smooth.Upper, 0.0)
	require.InDelta(t, 11.0/12, all.Smoothed(), 1e-15)
	require.InDelta(t, 1.0, all.Rate(), 1e-15)
	require.Zero(t, experiment.Proportion{}.Rate())
}

func TestStudentTCDF(t *testing.T) {
	t.Parallel()
	// Two-sided tail P(|T| ≥ |t|) computed with mpmath's betainc at 30 digits.
	tests := []struct {
		t, df, twoSided float64
	}{
		{2.0, 10, 0.0733880347707403751},
		{6.12795, 19.7520, 5.7819327542014661e-6},
		{-1.5, 3.3, 0.222503196719291895},
		{0.5, 1, 0.704832764699133487},
		{10, 2.5, 0.00444149576730742497},
	}
	for _, tc := range tests {
		cdf := experiment.StudentTCDF(tc.t, tc.df)
		want := tc.twoSided / 2
		if tc.t > 0 {
			want = 1 - want
		}
		require.InDelta(t, want, cdf, 1e-12, "t=%v df=%v", tc.t, tc.df)
		// Symmetry.
		require.InDelta(t, 1-cdf, experiment.StudentTCDF(-tc.t, tc.df), 1e-12)
	}
	require.Equal(t, 0.5, experiment.StudentTCDF(0, 7))
	// Cauchy (df = 1) has a closed form.
	require.InDelta(t, 0.5+math.Atan(3)/math.Pi, experiment.StudentTCDF(3, 1), 1e-13)
	// Large df approaches the normal.
	require.InDelta(t, 0.5*math.Erfc(-1.96/math.Sqrt2), experiment.StudentTCDF(1.96, 1e7), 1e-6)
	require.InDelta(t, 0.5*math.Erfc(-1.96/math.Sqrt2), experiment.StudentTCDF(1.96, math.Inf(1)), 1e-15)
	require.True(t, math.IsNaN(experiment.StudentTCDF(1, 0)))
	require.True(t, math.IsNaN(experiment.StudentTCDF(math.NaN(), 3)))
	require.Equal(t, 1.0, experiment.StudentTCDF(math.Inf(1), 3))
	require.Equal(t, 0.0, experiment.StudentTCDF(math.Inf(-1), 3))
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xs   []float64
		want experiment.Summary
	}{
		{"empty", nil, experiment.Summary{}},
		{"one", []float64{4}, experiment.Summary{N: 1, Mean: 4}},
		{"two", []float64{4, 6}, experiment.Summary{N: 2, Mean: 5, Variance: 2}},
		{"constant", []float64{7, 7, 7}, experiment.Summary{N: 3, Mean: 7}},
		// A large offset defeats the naive sum-of-squares formula.
		{"offset", []float64{1e9 + 4, 1e9 + 6, 1e9 + 8}, experiment.Summary{N: 3, Mean: 1e9 + 6, Variance: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := experiment.Summarize(tc.xs)
			require.Equal(t, tc.want.N, got.N)
			require.InDelta(t, tc.want.Mean, got.Mean, 1e-9)
			require.InDelta(t, tc.want.Variance, got.Variance, 1e-9)
		})
	}

	// The accumulator agrees with a two-pass computation.
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 1000)
	var acc experiment.Accumulator
	sum := 0.0
	for i := range xs {
		xs[i] = r.NormFloat64()*2 + 5
		sum += xs[i]
		acc.Add(xs[i])
	}
	mean := sum / float64(len(xs))
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	s := acc.Summary()
	require.InDelta(t, mean, s.Mean, 1e-12)
	require.InDelta(t, ss/float64(len(xs)-1), s.Variance, 1e-10)
	require.InDelta(t, math.Sqrt(s.Variance/1000), s.StdErr(), 1e-15)
}

func TestWithSDFloor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		variance, want float64
	}{
		{0, 0.25},
		{0.1, 0.25},
		{0.25, 0.25},
		{0.3, 0.3},
		{4, 4},
		{math.NaN(), 0.25},
	}
	for _, tc := range tests {
		got := experiment.Summary{N: 5, Mean: 6, Variance: tc.variance}.WithSDFloor(0.5)
		require.Equal(t, tc.want, got.Variance, "variance %v", tc.variance)
		require.Equal(t, 5, got.N)
		require.Equal(t, 6.0, got.Mean)
	}
}

func TestInsufficientData(t *testing.T) {
	t.Parallel()
	one := experiment.Summary{N: 1, Mean: 5}
	two := experiment.Summary{N: 2, Mean: 5, Variance: 1}
	zeroVar := experiment.Summary{N: 5, Mean: 5}
	b := diffBoundary()

	_, err := experiment.WelchTest(one, two)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = experiment.WelchTest(zeroVar, zeroVar)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = b.DiffMeans(two, one)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = b.Mean(one)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = b.DiffProportions(experiment.Proportion{}, experiment.Proportion{Successes: 1, N: 2}, true)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = experiment.TwoProportionZTest(experiment.Proportion{Successes: 3, N: 3}, experiment.Proportion{Successes: 4, N: 4})
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = b.Sequence(1, 0.1, 0)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = experiment.Boundary{Alpha: 0, NStar: 200}.Sequence(1, 0.1, 10)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)
	_, err = b.CostExcess(experiment.CostStats{N: 1}, experiment.CostStats{N: 5}, 1.25)
	require.ErrorIs(t, err, experiment.ErrInsufficientData)

	require.Equal(t, 1.0, b.PValue(1, 0, 10), "no standard error, no evidence")
	require.Equal(t, 1.0, b.PValue(1, 0.1, 0))
}

func TestBoundary(t *testing.T) {
	t.Parallel()
	b := diffBoundary()
	// The price of looking at every step: the multiplier is wider than the
	// fixed-horizon z at every sample size, and it is tightest near N*.
	best, bestN := math.Inf(1), 0
	for n := 1; n <= 5000; n++ {
		m := b.Multiplier(n)
		require.Greater(t, m, 1.96, "n=%d", n)
		if m < best {
			best, bestN = m, n
		}
	}
	require.InDelta(t, 200, bestN, 100, "multiplier is smallest near N*")

	// A larger N* spends width later: wider early, narrower late.
	wide := experiment.Boundary{Alpha: 0.05, NStar: 2000}
	require.Greater(t, wide.Multiplier(20), b.Multiplier(20))
	require.Less(t, wide.Multiplier(4000), b.Multiplier(4000))
	// Smaller α, wider sequence.
	require.Greater(t, experiment.Boundary{Alpha: 0.01, NStar: 200}.Multiplier(100), b.Multiplier(100))
	require.True(t, math.IsNaN(b.Multiplier(0)))

	cs, err := b.Sequence(2, 0.5, 100)
	require.NoError(t, err)
	require.InDelta(t, 2-0.5*b.Multiplier(100), cs.Lower, 1e-15)
	require.InDelta(t, 2+0.5*b.Multiplier(100), cs.Upper, 1e-15)
	require.True(t, cs.Contains(2))
	require.False(t, cs.Contains(5))

	// The always-valid p-value falls below α exactly when the CS excludes 0.
	for _, est := range []float64{0, 0.3, 0.8, 1.0, 1.2, 1.5, 3} {
		cs, err := b.Sequence(est, 0.5, 100)
		require.NoError(t, err)
		p := b.PValue(est, 0.5, 100)
		require.Equal(t, cs.Lower > 0, p < 0.05, "estimate %v: CS %v, p %v", est, cs.Interval, p)
	}
	require.Equal(t, 1.0, b.PValue(0, 0.5, 100))
	require.Equal(t, 0.0, b.PValue(1e6, 1e-6, 100), "overflow of E yields p = 0")
}

func TestRunningPValue(t *testing.T) {
	t.Parallel()
	var r experiment.RunningPValue
	require.Equal(t, 1.0, r.Value())
	require.Equal(t, 0.4, r.Observe(0.4))
	require.Equal(t, 0.2, r.Observe(0.2))
	require.Equal(t, 0.2, r.Observe(0.9), "a later, larger p does not undo evidence")
	require.Equal(t, 0.2, r.Observe(math.NaN()))
	require.Equal(t, 0.01, r.Observe(0.01))
	require.Equal(t, 0.01, r.Value())
}

func TestCostExcess(t *testing.T) {
	t.Parallel()
	b := diffBoundary()
	costs := func(n int, cost float64, accepted int) experiment.CostStats {
		var acc experiment.CostAccumulator
		for i := range n {
			// Alternate a little around cost so the variance is not zero.
			c := cost * (1 + 0.2*float64(i%2*2-1))
			acc.Add(c, i < accepted)
		}
		return acc.Stats()
	}

	t.Run("estimate is the per-accepted difference", func(t *testing.T) {
		t.Parallel()
		base := costs(100, 1, 60)
		cand := costs(100, 2, 60)
		cs, err := b.CostExcess(base, cand, 1.25)
		require.NoError(t, err)
		aB, aV := 61.0/102, 61.0/102
		require.InDelta(t, cand.MeanCost/aV-1.25*base.MeanCost/aB, cs.Estimate, 1e-12)
		require.InDelta(t, base.MeanCost/aB, base.PerAccepted(), 1e-12)
		require.Greater(t, cs.Lower, 0.0, "twice the cost at the same acceptance is confidently above 1.25×")
	})
	t.Run("equal arms are not above", func(t *testing.T) {
		t.Parallel()
		base := costs(100, 1, 60)
		cs, err := b.CostExcess(base, base, 1.25)
		require.NoError(t, err)
		require.Less(t, cs.Estimate, 0.0)
		require.Less(t, cs.Lower, 0.0, "equal arms are not confidently above 1.25×")
		require.Greater(t, cs.Upper, 0.0, "nor, at 100 WOs each, confidently below: acceptance is noisy")
	})
	t.Run("lower acceptance raises the cost per accepted WO", func(t *testing.T) {
		t.Parallel()
		base := costs(200, 1, 160)
		cand := costs(200, 1, 60)
		cs, err := b.CostExcess(base, cand, 1.25)
		require.NoError(t, err)
		require.Greater(t, cs.Lower, 0.0)
	})
	t.Run("a never-accepted candidate is confidently too expensive", func(t *testing.T) {
		t.Parallel()
		base := costs(30, 1, 30)
		cand := costs(30, 1, 0)
		cs, err := b.CostExcess(base, cand, 1.25)
		require.NoError(t, err)
		require.Greater(t, cs.Lower, 0.0, "CS %v", cs.Interval)
	})
	t.Run("free arms", func(t *testing.T) {
		t.Parallel()
		base := costs(50, 0, 30)
		cs, err := b.CostExcess(base, base, 1.25)
		require.NoError(t, err)
		require.Equal(t, 0.0, cs.Lower)
		require.Equal(t, 0.0, cs.Upper)
	})
	t.Run("accumulator moments", func(t *testing.T) {
		t.Parallel()
		var acc experiment.CostAccumulator
		acc.Add(1, true)
		acc.Add(3, false)
		acc.Add(2, true)
		s := acc.Stats()
		require.Equal(t, 3, s.N)
		require.Equal(t, 2, s.Accepted)
		require.InDelta(t, 2.0, s.MeanCost, 1e-15)
		require.InDelta(t, 1.0, s.VarCost, 1e-15)
		// cov = Σ(c−2)(a−2/3)/2 = ((−1)(1/3) + (1)(−2/3) + 0)/2 = −1/2
		require.InDelta(t, -0.5, s.CovCostAcc, 1e-15)
	})
}

// TestCostExcessCoverage checks the delta-method standard error of the linear
// contrast D = c̄_V·ā_B − k·c̄_B·ā_V behind CostExcess: at a fixed sample size,
// D̂ ± 1.96·SE should cover the true D about 95% of the time. A wrong
// covariance term or a missing factor shows up as coverage far from 95%.
func TestCostExcessCoverage(t *testing.T) {
	t.Parallel()
	const (
		reps   = 3000
		n      = 400
		accB   = 0.6
		accV   = 0.45
		ratio  = 1.25
		baseMu = 1.0
		candMu = 1.3
	)
	// Cost depends strongly on acceptance (accepted attempts run the whole
	// pipeline, failed ones stop early), so the covariance term matters:
	// leaving it out moves the coverage to nearly 100%. Cost is mu·L for a
	// failure and 3·mu·L for an acceptance, L log-normal with mean 1, so the
	// expected cost per WO is mu·(1 + 2·acc).
	draw := func(r *rand.Rand, mu, acc float64) experiment.CostStats {
		var c experiment.CostAccumulator
		for range n {
			ok := r.Float64() < acc
			cost := mu * math.Exp(0.3*r.NormFloat64()-0.045)
			if ok {
				cost *= 3
			}
			c.Add(cost, ok)
		}
		return c.Stats()
	}
	// The estimator uses smoothed acceptance, which at n = 400 differs from
	// the true one by well under a percent; compare with the plain truth.
	trueD := candMu*(1+2*accV)*accB - ratio*baseMu*(1+2*accB)*accV
	r := rand.New(rand.NewPCG(7, 11))
	covered := 0
	for range reps {
		base, cand := draw(r, baseMu, accB), draw(r, candMu, accV)
		cs, err := diffBoundary().CostExcess(base, cand, ratio)
		require.NoError(t, err)
		// CS is D rescaled by the plug-in acceptances; undo that.
		scale := experiment.Proportion{Successes: cand.Accepted, N: cand.N}.Smoothed() *
			experiment.Proportion{Successes: base.Accepted, N: base.N}.Smoothed()
		if math.Abs(cs.Estimate*scale-trueD) <= 1.96*cs.SE*scale {
			covered++
		}
	}
	rate := float64(covered) / reps
	t.Logf("fixed-horizon coverage %.3f", rate)
	require.InDelta(t, 0.95, rate, 0.015, "fixed-horizon coverage %.3f", rate)
}
