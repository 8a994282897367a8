package score_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/score"
)

// complete is a finished change: it builds and typechecks, adds tests that
// pass and cover 85% of the changed code, and leaves nothing behind.
func complete() score.Input {
	return score.Input{
		EditsApplied:     3,
		ChangedFiles:     []string{"calc/calc.go", "calc/calc_test.go", "cmd/calc/main.go"},
		LinesAdded:       140,
		LinesRemoved:     12,
		BuildRan:         true,
		BuildPassed:      true,
		TypecheckRan:     true,
		TypecheckPassed:  true,
		TestsRan:         true,
		TestsSucceeded:   true,
		TestsTotal:       14,
		TestsPassed:      14,
		Coverage:         85,
		CoverageMeasured: true,
		TestsAdded:       true,
		LongestFunction:  score.FunctionSize{File: "calc/calc.go", Name: "Eval", Lines: 38},
	}
}

// skeletal is what cheap models write when nothing checks them: it compiles
// and the old tests still pass, but the logic is TODOs and a stub, and no
// test was written.
func skeletal() score.Input {
	return score.Input{
		EditsApplied: 1,
		ChangedFiles: []string{"calc/calc.go"},
		LinesAdded:   24,
		BuildRan:     true,
		BuildPassed:  true,
		TestsRan:     true, TestsSucceeded: true,
		TestsTotal: 12, TestsPassed: 12,
		Coverage: 20, CoverageMeasured: true,
		StaticFindings: []score.Finding{
			{File: "calc/calc.go", Line: 12, Category: score.CategoryTODO, Severity: score.SeverityWarning, Message: "TODO: parse operator precedence"},
			{File: "calc/calc.go", Line: 20, Category: score.CategoryNotImplemented, Severity: score.SeverityError, Message: `panic("not implemented")`},
			{File: "calc/calc.go", Line: 30, Category: score.CategoryTODO, Severity: score.SeverityWarning, Message: "TODO: handle division by zero"},
		},
	}
}

func with(in score.Input, f func(*score.Input)) score.Input {
	f(&in)
	return in
}

func dim(t *testing.T, r score.Result, name string) score.Dimension {
	t.Helper()
	d, ok := r.Dimension(name)
	require.True(t, ok, "dimension %s missing", name)
	return d
}

func scores(t *testing.T, r score.Result) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, d := range r.Dimensions {
		m[d.Name] = d.Score
	}
	require.Len(t, m, 5)
	return m
}

func TestComputeScenarios(t *testing.T) {
	t.Parallel()
	all := func(b, tc, c, a, r float64) map[string]float64 {
		return map[string]float64{
			score.DimBuildSuccess: b, score.DimTestCoverage: tc, score.DimCompleteness: c,
			score.DimArchitecture: a, score.DimReadability: r,
		}
	}
	tests := []struct {
		name    string
		in      score.Input
		scores  map[string]float64
		overall float64
		passed  bool
		gate    []string // substrings of Result.Gate; none means the gate is empty
	}{
		{
			name:    "complete proposal passes",
			in:      complete(),
			scores:  all(10, 10, 10, 10, 10),
			overall: 10,
			passed:  true,
		},
		{
			name: "complete proposal with small blemishes still passes",
			in: with(complete(), func(in *score.Input) {
				in.LongLines = 2
				in.LintFindings = []score.Finding{{File: "calc/calc.go", Line: 4, Category: "comment", Message: "exported function Eval should have comment"}}
			}),
			scores:  all(10, 10, 10, 10, 9),
			overall: 9.9, // 2.5 + 2 + 2.5 + 1.5 + 0.15*9
			passed:  true,
		},
		{
			name:    "skeletal proposal scores under 7 and fails",
			in:      skeletal(),
			scores:  all(10, 2.5, 0, 10, 10),
			overall: 6, // 2.5 + 0.2*2.5 + 0 + 1.5 + 1.5
			gate:    []string{"completeness 0.0 is below the minimum 5"},
		},
		{
			name: "one stub with passing tests is stopped by the completeness gate",
			in: with(complete(), func(in *score.Input) {
				in.StaticFindings = []score.Finding{{File: "calc/calc.go", Line: 20, Category: score.CategoryStub, Message: "throw new Error('Not implemented')"}}
			}),
			scores:  all(10, 10, 2, 10, 10),
			overall: 8, // above the threshold: only the gate stops it
			gate:    []string{"completeness 2.0 is below the minimum 5"},
		},
		{
			name: "build failure fails the gate and names the first errors",
			in: with(skeletal(), func(in *score.Input) {
				in.StaticFindings = nil
				in.BuildPassed = false
				in.TestsRan, in.TestsSucceeded, in.TestsTotal, in.TestsPassed, in.CoverageMeasured = false, false, 0, 0, false
				in.BuildFindings = []score.Finding{
					{File: "calc/calc.go", Line: 5, Category: "undefined_symbol", Severity: score.SeverityError, Message: "undefined: strconv"},
					{File: "calc/calc.go", Line: 9, Category: "type_error", Severity: score.SeverityError, Message: "missing return"},
				}
			}),
			scores:  all(0, 0, 10, 10, 10),
			overall: 5.5,
			gate: []string{
				"build failed: calc/calc.go:5: undefined: strconv; calc/calc.go:9: missing return",
				"the tests did not run",
			},
		},
		{
			name: "excellent proposal with a failing test fails the gate",
			in: with(complete(), func(in *score.Input) {
				in.TestsTotal, in.TestsPassed, in.TestsFailed, in.TestsSucceeded = 15, 14, 1, false
				in.TestFindings = []score.Finding{{File: "calc/calc_test.go", Line: 41, Category: "failing_test", Severity: score.SeverityError, Message: "TestDivide: want error, got 0"}}
			}),
			scores:  all(10, 2, 10, 10, 10),
			overall: 8.4,
			gate:    []string{"1 of 15 tests failed: calc/calc_test.go:41"},
		},
		{
			name: "typecheck failure fails the gate",
			in: with(complete(), func(in *score.Input) {
				in.TypecheckPassed = false
				in.BuildFindings = []score.Finding{{File: "src/app.ts", Line: 3, Category: "type_error", Severity: score.SeverityError, Message: "TS2322: Type 'string' is not assignable to type 'number'."}}
			}),
			scores:  all(3, 10, 10, 10, 10),
			overall: 8.3, // 8.25 rounds half away from zero
			gate:    []string{"typecheck failed: src/app.ts:3: TS2322"},
		},
		{
			name: "test package that does not compile fails the gate",
			in: with(complete(), func(in *score.Input) {
				in.TestsSucceeded, in.TestsTotal, in.TestsPassed, in.CoverageMeasured = false, 0, 0, false
				in.TestFindings = []score.Finding{{File: "calc/calc_test.go", Line: 7, Category: "build", Severity: score.SeverityError, Message: "undefined: Parse"}}
			}),
			scores:  all(10, 0, 10, 10, 10),
			overall: 8,
			gate:    []string{"the test command failed", "calc/calc_test.go:7: undefined: Parse"},
		},
		{
			name: "no tests at all fails the gate",
			in: with(complete(), func(in *score.Input) {
				in.TestsTotal, in.TestsPassed, in.TestsAdded, in.CoverageMeasured = 0, 0, false, false
			}),
			scores:  all(10, 0, 10, 10, 10),
			overall: 8,
			gate:    []string{"no tests ran"},
		},
		{
			name: "build that never ran fails the gate",
			in: with(complete(), func(in *score.Input) {
				in.BuildRan, in.BuildPassed = false, false
			}),
			scores:  all(0, 10, 10, 10, 10),
			overall: 7.5,
			gate:    []string{"the build did not run"},
		},
		{
			name: "no edits applied fails every way",
			in: with(complete(), func(in *score.Input) {
				in.EditsApplied, in.ChangedFiles, in.LinesAdded, in.LinesRemoved, in.TestsAdded = 0, nil, 0, 0, false
				in.Coverage = 70
				in.EditFindings = []score.Finding{{Category: "no_edits", Severity: score.SeverityError, Message: "the response contains no edits"}}
			}),
			scores:  all(10, 3, 0, 0, 0),
			overall: 3.1,
			gate:    []string{"no edits applied", "completeness 0.0 is below the minimum 5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := score.Compute(score.DefaultConfig(), tt.in)
			require.Equal(t, tt.scores, scores(t, r))
			require.InDelta(t, tt.overall, r.Weighted, 1e-9, "weighted mean before the gate cap")
			require.Equal(t, tt.passed, r.Passed)
			if len(tt.gate) == 0 {
				require.Empty(t, r.Gate)
				require.InDelta(t, r.Weighted, r.Overall, 1e-9)
			} else {
				require.InDelta(t, math.Min(tt.overall, score.GateCap), r.Overall, 1e-9, "a failed gate caps overall")
				require.Less(t, r.Overall, 6.0)
			}
			if r.Passed {
				require.GreaterOrEqual(t, r.Overall, 7.0)
			}
			for _, g := range tt.gate {
				require.Contains(t, r.Gate, g)
			}
			for _, d := range r.Dimensions {
				require.NotEmpty(t, d.Reasons, "dimension %s has no reasons", d.Name)
			}
		})
	}
}

// The static signals alone must separate skeletal from complete by a wide
// margin, not just across the threshold.
func TestStaticSignalsSeparateSkeletalFromComplete(t *testing.T) {
	t.Parallel()
	cfg := score.DefaultConfig()
	good := score.Compute(cfg, complete())
	bad := score.Compute(cfg, skeletal())
	require.True(t, good.Passed)
	require.False(t, bad.Passed)
	require.Less(t, bad.Overall, cfg.PassThreshold)
	require.GreaterOrEqual(t, good.Overall-bad.Overall, 3.0)
}

func TestRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*score.Input)
		dim    string
		score  float64
		reason string
	}{
		{"build warnings cost a point each", func(in *score.Input) {
			in.BuildFindings = []score.Finding{
				{File: "a.go", Line: 1, Severity: score.SeverityWarning, Message: "printf: wrong verb"},
				{File: "b.go", Line: 2, Severity: score.SeverityWarning, Message: "copylocks"},
			}
		}, score.DimBuildSuccess, 8, "2 build warnings: a.go:1, b.go:2 (-2)"},
		{"build warnings are capped", func(in *score.Input) {
			for range 7 {
				in.BuildFindings = append(in.BuildFindings, score.Finding{File: "a.go", Line: 1, Severity: score.SeverityWarning})
			}
		}, score.DimBuildSuccess, 7, "7 build warnings: a.go:1, a.go:1, a.go:1 and 4 more (-3)"},
		{"coverage scales to 80 percent", func(in *score.Input) { in.Coverage = 60 }, score.DimTestCoverage, 7.5, "coverage 60.0% of the changed code (80% earns 10)"},
		{"unmeasured coverage with added tests", func(in *score.Input) { in.CoverageMeasured = false }, score.DimTestCoverage, 6, "coverage not measured (scored 6)"},
		{"no tests added caps test coverage", func(in *score.Input) {
			in.TestsAdded, in.ChangedFiles = false, []string{"calc/calc.go"}
		}, score.DimTestCoverage, 3, "no tests added or changed: capped at 3"},
		{"empty bodies", func(in *score.Input) {
			in.StaticFindings = []score.Finding{{File: "x.go", Line: 3, Category: score.CategoryEmptyBody}}
		}, score.DimCompleteness, 7, "1 empty function body: x.go:3 (-3)"},
		{"emptied file", func(in *score.Input) {
			in.StaticFindings = []score.Finding{{File: "x.go", Category: score.CategoryEmptiedFile}}
		}, score.DimCompleteness, 2, "1 emptied file: x.go (-8)"},
		{"edits that did not apply", func(in *score.Input) {
			in.EditFindings = []score.Finding{
				{File: "a.go", Category: "search_not_found", Message: "block 2: SEARCH text not found"},
				{File: "b.go", Category: score.CategoryIOError, Message: "disk full"},
			}
		}, score.DimCompleteness, 7, "1 edit did not apply: a.go (-3)"},
		{"TODOs are capped", func(in *score.Input) {
			for i := range 5 {
				in.StaticFindings = append(in.StaticFindings, score.Finding{File: "a.go", Line: i + 1, Category: score.CategoryTODO})
			}
		}, score.DimCompleteness, 2.5, "5 TODO markers: a.go:1, a.go:2, a.go:3 and 2 more (-7.5)"},
		{"debug prints", func(in *score.Input) {
			in.StaticFindings = []score.Finding{{File: "src/app.ts", Line: 8, Category: score.CategoryDebugPrint, Message: "console.log"}}
		}, score.DimArchitecture, 9, "1 debug print left: src/app.ts:8 (-1)"},
		{"vendored files", func(in *score.Input) {
			in.ChangedFiles = append(in.ChangedFiles, "node_modules/left-pad/index.js", "web/dist/app.js", "vendor.go")
		}, score.DimArchitecture, 6, "edits 2 vendored or generated files: node_modules/left-pad/index.js, web/dist/app.js (-4)"},
		{"everything in one file", func(in *score.Input) {
			in.ChangedFiles, in.LinesAdded = []string{"main.go"}, 450
		}, score.DimArchitecture, 8, "all 450 added lines are in one file (main.go) (-2)"},
		{"huge diff", func(in *score.Input) { in.LinesAdded, in.LinesRemoved = 900, 300 }, score.DimArchitecture, 8,
			"diff of 1200 lines is larger than one work order should need (1000) (-2)"},
		{"long lines", func(in *score.Input) { in.LongLines = 20 }, score.DimReadability, 7, "20 added lines longer than 120 characters (-3)"},
		{"long function", func(in *score.Input) {
			in.LongestFunction = score.FunctionSize{File: "calc.go", Name: "Eval", Lines: 120}
		}, score.DimReadability, 8, "function Eval (calc.go) is 120 lines long (-2)"},
		{"lint findings", func(in *score.Input) {
			in.LintFindings = make([]score.Finding, 10)
		}, score.DimReadability, 6, "10 lint findings (-4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := score.Compute(score.DefaultConfig(), with(complete(), tt.mutate))
			d := dim(t, r, tt.dim)
			require.InDelta(t, tt.score, d.Score, 1e-9)
			require.Contains(t, d.Reasons, tt.reason)
		})
	}
}

func TestWeightsAreHonoured(t *testing.T) {
	t.Parallel()
	in := skeletal() // scores: build 10, tests 2.5, completeness 0, architecture 10, readability 10

	cfg := score.DefaultConfig()
	cfg.Weights = score.Weights{BuildSuccess: 2, TestCoverage: 1, Completeness: 1}
	r := score.Compute(cfg, in)
	require.InDelta(t, 5.6, r.Overall, 1e-9) // (2·10 + 1·2.5 + 1·0) / 4 = 5.625
	require.InDelta(t, 0.5, dim(t, r, score.DimBuildSuccess).Weight, 1e-9)
	require.InDelta(t, 0.25, dim(t, r, score.DimTestCoverage).Weight, 1e-9)
	require.Zero(t, dim(t, r, score.DimArchitecture).Weight)

	cfg.Weights = score.Weights{Completeness: 1}
	require.Zero(t, score.Compute(cfg, in).Overall)
	cfg.Weights = score.Weights{Architecture: 3, Readability: 1}
	r = score.Compute(cfg, in)
	require.InDelta(t, 10, r.Weighted, 1e-9)
	require.InDelta(t, score.GateCap, r.Overall, 1e-9, "no weighting lifts a failed gate over the cap")

	// Default weights: normalised shares sum to 1 and match the documented values.
	r = score.Compute(score.DefaultConfig(), in)
	sum, hand := 0.0, 0.0
	for _, d := range r.Dimensions {
		sum += d.Weight
		hand += d.Weight * d.Score
	}
	require.InDelta(t, 1, sum, 1e-9)
	require.InDelta(t, math.Round(hand*10)/10, r.Weighted, 1e-9)
	require.InDelta(t, 0.25, dim(t, r, score.DimCompleteness).Weight, 1e-9)
}

func TestPassThresholdAndCompletenessGateAreConfigurable(t *testing.T) {
	t.Parallel()
	blemished := with(complete(), func(in *score.Input) { in.LongLines = 12 }) // readability 7, overall 9.6
	cfg := score.DefaultConfig()
	require.True(t, score.Compute(cfg, blemished).Passed)
	cfg.PassThreshold = 9.7
	r := score.Compute(cfg, blemished)
	require.InDelta(t, 9.6, r.Overall, 1e-9)
	require.False(t, r.Passed)
	require.Empty(t, r.Gate, "a low score is not a gate failure")

	oneStub := with(complete(), func(in *score.Input) {
		in.StaticFindings = []score.Finding{{File: "a.go", Line: 3, Category: score.CategoryNotImplemented}}
	})
	cfg = score.DefaultConfig()
	require.False(t, score.Compute(cfg, oneStub).Passed)
	cfg.MinCompleteness = 0
	r = score.Compute(cfg, oneStub)
	require.True(t, r.Passed, "with the gate disabled the weighted mean (8.0) decides")
	require.Empty(t, r.Gate)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, score.DefaultConfig().Validate())
	w := score.DefaultWeights()
	require.InDelta(t, 1, w.BuildSuccess+w.TestCoverage+w.Completeness+w.Architecture+w.Readability, 1e-9)

	tests := []struct {
		name   string
		cfg    score.Config
		fields []string
	}{
		{"every problem at once", score.Config{
			Weights:         score.Weights{BuildSuccess: -1, TestCoverage: math.NaN(), Completeness: 1, Readability: math.Inf(1)},
			PassThreshold:   11,
			MinCompleteness: -0.5,
		}, []string{"weights.build_success", "weights.test_coverage", "weights.readability", "pass_threshold", "min_completeness"}},
		{"all weights zero", score.Config{PassThreshold: 7}, []string{"weights"}},
		{"negative only weight", score.Config{Weights: score.Weights{Architecture: -2}, PassThreshold: math.NaN()},
			[]string{"weights.architecture", "weights", "pass_threshold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			var verr *fault.ValidationError
			require.True(t, errors.As(err, &verr), "got %v", err)
			var fields []string
			for _, v := range verr.Violations {
				fields = append(fields, v.Field)
			}
			require.ElementsMatch(t, tt.fields, fields)
		})
	}
}

// Compute never fails: an invalid Config is repaired, never turned into NaN.
func TestComputeRepairsInvalidConfig(t *testing.T) {
	t.Parallel()
	want := score.Compute(score.DefaultConfig(), skeletal())
	got := score.Compute(score.Config{PassThreshold: math.NaN(), MinCompleteness: math.NaN()}, skeletal())
	require.Equal(t, want, got)

	cfg := score.Config{Weights: score.Weights{BuildSuccess: -5, Completeness: 1}, PassThreshold: 42}
	r := score.Compute(cfg, complete())
	require.InDelta(t, 10, r.Overall, 1e-9)
	require.True(t, r.Passed, "a threshold above 10 is clamped to 10")
	require.Zero(t, dim(t, r, score.DimBuildSuccess).Weight)
}

func TestContributionsBlend(t *testing.T) {
	t.Parallel()
	judge := func(dim string, s, w float64) score.Contribution {
		return score.Contribution{Source: "judge", Dimension: dim, Score: s, Weight: w, Reasons: []string{"layering ignores the repository pattern"}}
	}
	tests := []struct {
		name string
		c    []score.Contribution
		arch float64
	}{
		{"equal weight", []score.Contribution{judge(score.DimArchitecture, 4, 1)}, 7},
		{"zero weight means one", []score.Contribution{judge(score.DimArchitecture, 4, 0)}, 7},
		{"heavy judge dominates", []score.Contribution{judge(score.DimArchitecture, 4, 3)}, 5.5},
		{"two contributions", []score.Contribution{judge(score.DimArchitecture, 4, 1), judge(score.DimArchitecture, 1, 1)}, 5},
		{"score clamped", []score.Contribution{judge(score.DimArchitecture, -20, 1)}, 5},
		{"negative weight ignored", []score.Contribution{judge(score.DimArchitecture, 0, -1)}, 10},
		{"NaN score ignored", []score.Contribution{judge(score.DimArchitecture, math.NaN(), 1)}, 10},
		{"unknown dimension ignored", []score.Contribution{judge("vibes", 0, 1)}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := complete()
			in.Contributions = tt.c
			r := score.Compute(score.DefaultConfig(), in)
			require.InDelta(t, tt.arch, dim(t, r, score.DimArchitecture).Score, 1e-9)
			require.InDelta(t, 10, dim(t, r, score.DimReadability).Score, 1e-9, "other dimensions untouched")
		})
	}

	in := complete()
	in.Contributions = []score.Contribution{judge(score.DimArchitecture, 4, 1)}
	require.Equal(t, []string{
		"3 files, 140 lines added, 12 removed; no debug prints",
		"judge scored 4.0 (weight 1)",
		"judge: layering ignores the repository pattern",
	}, dim(t, score.Compute(score.DefaultConfig(), in), score.DimArchitecture).Reasons)

	// A judge can pull completeness under the gate; it cannot lift a failed build over it.
	in.Contributions = []score.Contribution{judge(score.DimCompleteness, 0, 2)}
	r := score.Compute(score.DefaultConfig(), in)
	require.InDelta(t, 3.3, dim(t, r, score.DimCompleteness).Score, 1e-9)
	require.False(t, r.Passed)
	in = with(complete(), func(in *score.Input) { in.BuildPassed = false })
	in.Contributions = []score.Contribution{judge(score.DimBuildSuccess, 10, 100)}
	r = score.Compute(score.DefaultConfig(), in)
	require.Greater(t, dim(t, r, score.DimBuildSuccess).Score, 9.0)
	require.False(t, r.Passed)
	require.True(t, strings.HasPrefix(r.Gate, "build failed"))
}

// Golden reasons for the skeletal proposal: what a reviewer reads.
func TestReasonsGolden(t *testing.T) {
	t.Parallel()
	r := score.Compute(score.DefaultConfig(), skeletal())
	got := map[string][]string{}
	for _, d := range r.Dimensions {
		got[d.Name] = d.Reasons
	}
	require.Equal(t, map[string][]string{
		score.DimBuildSuccess: {"build passed"},
		score.DimTestCoverage: {
			"coverage 20.0% of the changed code (80% earns 10)",
			"12 of 12 tests passed",
		},
		score.DimCompleteness: {
			"1 not-implemented stub: calc/calc.go:20 (-8)",
			"2 TODO markers: calc/calc.go:12, calc/calc.go:30 (-5)",
		},
		score.DimArchitecture: {"1 file, 24 lines added, 0 removed; no debug prints"},
		score.DimReadability:  {"no long lines, long functions or lint findings"},
	}, got)
	require.Equal(t, "the change modifies source code (calc/calc.go) but adds or changes no test; completeness 0.0 is below the minimum 5", r.Gate)
}

func TestTestsGate(t *testing.T) {
	t.Parallel()
	cfg := score.DefaultConfig()
	noTests := with(complete(), func(in *score.Input) {
		in.TestsAdded = false
		in.ChangedFiles = []string{"calc/calc.go", "cmd/calc/main.go"}
	})
	r := score.Compute(cfg, noTests)
	require.False(t, r.Passed)
	require.Contains(t, r.Gate, "the change modifies source code (calc/calc.go, cmd/calc/main.go) but adds or changes no test")
	require.Less(t, r.Overall, 6.0)

	waived := with(noTests, func(in *score.Input) { in.TestsOptional = true })
	r = score.Compute(cfg, waived)
	require.True(t, r.Passed, r.Gate)
	require.Empty(t, r.Gate)
	require.GreaterOrEqual(t, r.Overall, 7.0)
	require.Contains(t, dim(t, r, score.DimTestCoverage).Reasons, "no tests added or changed (the work order does not require them): capped at 3")

	docs := with(noTests, func(in *score.Input) { in.ChangedFiles = []string{"README.md", "config/app.yaml", "go.mod"} })
	r = score.Compute(cfg, docs)
	require.True(t, r.Passed, r.Gate)
	require.Contains(t, dim(t, r, score.DimTestCoverage).Reasons, "only documentation or configuration changed (no source code): no new test is required")
	require.InDelta(t, 10, dim(t, r, score.DimTestCoverage).Score, 1e-9, "a docs-only change is not capped for lacking tests")

	testsOnly := with(noTests, func(in *score.Input) { in.ChangedFiles = []string{"calc/calc.go", "src/__tests__/calc.ts"} })
	require.True(t, score.Compute(cfg, testsOnly).Passed, "a test file among the changes holds the gate")
}

func TestMutationFeedsTestCoverageAndGates(t *testing.T) {
	t.Parallel()
	cfg := score.DefaultConfig()
	strong := with(complete(), func(in *score.Input) {
		in.Coverage = 80
		in.Mutation = &score.Mutation{Measured: true, Run: 10, Killed: 8,
			Functions: []score.MutatedFunction{{File: "calc/calc.go", Name: "Add", Reached: true, GateMeasured: true, GateKilled: true}}}
	})
	r := score.Compute(cfg, strong)
	require.True(t, r.Passed, r.Gate)
	require.InDelta(t, 9, dim(t, r, score.DimTestCoverage).Score, 1e-9, "(10 coverage + 10·0.8) / 2")

	weak := with(strong, func(in *score.Input) {
		in.Mutation = &score.Mutation{Measured: true, Run: 10, Killed: 2,
			Functions: []score.MutatedFunction{{File: "calc/calc.go", Name: "Add", Reached: true, GateMeasured: true}},
			Survivors: []score.Finding{{File: "calc/calc.go", Line: 12, Category: score.CategorySurvivingMutant, Message: "tests still pass when Add returns zero values"}}}
	})
	r = score.Compute(cfg, weak)
	require.False(t, r.Passed)
	require.Contains(t, r.Gate, "the tests still pass when Add returns zero values or panics")
	require.Contains(t, r.Gate, "mutation score 0.20 (2 of 10 mutants killed) is below the minimum 0.6")
	require.Less(t, r.Overall, 6.0)
	require.Contains(t, dim(t, r, score.DimTestCoverage).Reasons, "1 surviving mutant: calc/calc.go:12")

	unreached := with(weak, func(in *score.Input) {
		in.Mutation.Functions[0].Reached = false
		in.Mutation.Run, in.Mutation.Killed = 0, 0
	})
	require.True(t, score.Compute(cfg, unreached).Passed, "a function no test reaches is left to diff coverage")

	cfg.MinMutationScore = 0.1
	lowBar := with(weak, func(in *score.Input) { in.Mutation.Functions[0].GateKilled = true })
	require.True(t, score.Compute(cfg, lowBar).Passed, "the threshold is configurable")

	notMeasured := with(complete(), func(in *score.Input) {
		in.Mutation = &score.Mutation{Reason: "the project's own test command runs the tests"}
	})
	r = score.Compute(score.DefaultConfig(), notMeasured)
	require.True(t, r.Passed)
	require.Contains(t, dim(t, r, score.DimTestCoverage).Reasons, "test strength not measured: the project's own test command runs the tests")
}

func TestTimeoutIsItsOwnGate(t *testing.T) {
	t.Parallel()
	cfg := score.DefaultConfig()
	hung := with(complete(), func(in *score.Input) {
		in.TestsSucceeded, in.TestsFailed = false, 1
		in.TestFindings = []score.Finding{{File: "p/p_test.go", Line: 12, Category: score.CategoryTimeout, Severity: score.SeverityError,
			Message: "TestHang timed out after 8s"}}
	})
	r := score.Compute(cfg, hung)
	require.False(t, r.Passed)
	require.Contains(t, r.Gate, "the tests timed out: p/p_test.go:12: TestHang timed out after 8s")
	require.NotContains(t, r.Gate, "compile")

	crashed := with(complete(), func(in *score.Input) {
		in.TestsSucceeded, in.TestsTotal, in.TestsPassed = false, 0, 0
		in.TestFindings = []score.Finding{{File: "p/p.go", Line: 9, Category: "test_failure", Severity: score.SeverityError,
			Message: "TestRec: fatal error: stack overflow"}}
	})
	r = score.Compute(cfg, crashed)
	require.Contains(t, r.Gate, "the test command failed: p/p.go:9: TestRec: fatal error: stack overflow")
	require.NotContains(t, r.Gate, "compile", "a stack overflow is not a compile problem")

	buildHung := with(complete(), func(in *score.Input) {
		in.BuildPassed = false
		in.BuildFindings = []score.Finding{{Category: score.CategoryTimeout, Severity: score.SeverityError, Message: "the build command timed out after 5m0s"}}
	})
	require.Contains(t, score.Compute(cfg, buildHung).Gate, "the build timed out: the build command timed out after 5m0s")
}
