package pipeline

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/score"
)

func TestFeedbackCarriesExactFindingsAndOutput(t *testing.T) {
	t.Parallel()
	c := &cycle{
		N:            1,
		Applied:      1,
		EditFindings: []Finding{{Source: "edit", Category: "search_not_found", Message: "block 2 (calc.go): search text not found; nearest lines 10-12"}},
		Reports: []Report{
			{Validator: "build", Passed: false, Findings: []Finding{{File: "calc/stats.go", Line: 51, Category: "undefined_symbol", Message: "undefined: math"}},
				Log: "# example.com/gocalc/calc\ncalc/stats.go:51:9: undefined: math\n"},
			{Validator: "test", Skipped: true},
			{Validator: "static", Passed: true, Findings: []Finding{{File: "calc/stats.go", Line: 7, Category: "todo_marker", Message: "TODO: implement"}}},
		},
	}
	fb := feedback(c)
	for _, want := range []string{
		"search text not found; nearest lines 10-12",
		"## build failed",
		"calc/stats.go:51 [undefined_symbol] undefined: math",
		"calc/stats.go:51:9: undefined: math", // the compiler's own output, verbatim
		"## Incomplete code",
		"calc/stats.go:7 [todo_marker] TODO: implement",
	} {
		require.Contains(t, fb, want)
	}
	require.NotContains(t, fb, "## test failed", "a skipped validator is not a failure")
}

func TestFeedbackForAnAnswerWithoutEdits(t *testing.T) {
	t.Parallel()
	require.Contains(t, feedback(&cycle{N: 1}), "No edits were found")
}

func TestTrimLogKeepsHeadAndTail(t *testing.T) {
	t.Parallel()
	long := "HEAD" + strings.Repeat("x", 10000) + "TAIL"
	got := trimLog(long, 600)
	require.LessOrEqual(t, len(got), 700)
	require.True(t, strings.HasPrefix(got, "HEAD"))
	require.True(t, strings.HasSuffix(got, "TAIL"))
	require.Contains(t, got, "bytes trimmed")
	require.Equal(t, "short", trimLog("short", 600))
}

func TestScoreInputMapsValidatorReports(t *testing.T) {
	t.Parallel()
	c := &cycle{
		Applied: 2, Changed: []string{"a.go", "a_test.go"},
		Reports: []Report{
			{Validator: "build", Passed: true},
			{Validator: "test", Passed: true, TestsTotal: 4, TestsPassed: 4, Coverage: 82.5, TestsAdded: true},
			{Validator: "static", Passed: true, Findings: []Finding{{File: "a.go", Line: 3, Category: "todo_marker"}}},
			{Validator: "lint", Findings: []Finding{{File: "a.go", Line: 9, Category: "vet"}}},
		},
	}
	in := scoreInput(c)
	require.True(t, in.BuildPassed && in.TestsSucceeded && in.TestsAdded && in.CoverageMeasured)
	require.Equal(t, 82.5, in.Coverage)
	require.Equal(t, 4, in.TestsTotal)
	require.Len(t, in.StaticFindings, 1)
	require.Equal(t, score.CategoryTODO, in.StaticFindings[0].Category, "validator categories map to the scorer's")
	require.Len(t, in.LintFindings, 1)

	skipped := scoreInput(&cycle{Applied: 1, Reports: []Report{{Validator: "build", Passed: false}, {Validator: "test", Skipped: true, Coverage: -1}}})
	require.False(t, skipped.TestsRan)
	require.False(t, skipped.CoverageMeasured)
}

func TestCycleIsProvenWhenItScores(t *testing.T) {
	t.Parallel()
	good := &cycle{Applied: 1, Score: score.Result{Passed: true}}
	require.True(t, good.proven())
	require.False(t, (&cycle{Applied: 1}).proven())
	require.False(t, (&cycle{Applied: 1, Score: score.Result{Passed: false, Overall: 9}}).proven(), "a failed gate is never proven")
}

func TestSummarizeNamesVerdictsAndFirstFinding(t *testing.T) {
	t.Parallel()
	s := summarize([]Report{
		{Validator: "build", Passed: true},
		{Validator: "test", Passed: false, TestsTotal: 3, TestsPassed: 2, Findings: []Finding{{File: "x_test.go", Line: 4, Category: "test_failure", Message: "TestX failed"}}},
		{Validator: "static", Skipped: true},
	})
	require.Equal(t, "build passed; test failed (2/3 tests passed), 1 findings [first: x_test.go:4 test_failure: TestX failed]; static skipped", s)
}

func TestFeedbackKeepsMultiLineEvidenceAndNamesTimeouts(t *testing.T) {
	t.Parallel()
	c := &cycle{N: 1, Applied: 1, Reports: []Report{
		{Validator: "build", Passed: true},
		{Validator: "test", Passed: false, Findings: []Finding{
			{File: "p/p_test.go", Line: 11, Category: "test_failure", Message: "TestHalf: Not equal\np_test.go:11:\n    Error:       Not equal:\n                 expected: 3\n                 actual  : 2"},
			{File: "p/p_test.go", Line: 20, Category: "timeout", Message: "TestHang timed out after 8s\nat p/p_test.go:20 in p.TestHang"},
		}},
	}}
	fb := feedback(c)
	require.Contains(t, fb, "- p/p_test.go:11 [test_failure] TestHalf: Not equal\n    p_test.go:11:\n        Error:       Not equal:\n                     expected: 3")
	require.Contains(t, fb, "- p/p_test.go:20 [timeout] TestHang timed out after 8s\n    at p/p_test.go:20 in p.TestHang")
	require.Contains(t, fb, "## Timed out")
	require.NotContains(t, fb, "may not compile")
	require.NotContains(t, feedback(&cycle{N: 1, Applied: 1, Reports: []Report{{Validator: "test", Findings: []Finding{{Category: "test_failure", Message: "x"}}}}}), "## Timed out")
}
