package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/score"
)

func TestBestCycle(t *testing.T) {
	t.Parallel()
	c := func(n int, passed bool, overall float64) *cycle {
		return &cycle{N: n, Score: score.Result{Passed: passed, Overall: overall}}
	}
	for _, tc := range []struct {
		name   string
		cycles []*cycle
		want   int
	}{
		{"one", []*cycle{c(1, false, 3)}, 1},
		{"passing beats a higher failing score", []*cycle{c(1, false, 6.9), c(2, true, 6.5)}, 2},
		{"fail, fail, worse keeps the first", []*cycle{c(1, false, 5), c(2, false, 4), c(3, false, 1)}, 1},
		{"higher score wins", []*cycle{c(1, false, 2), c(2, false, 4.5), c(3, false, 3)}, 2},
		{"ties go to the earlier", []*cycle{c(1, false, 4), c(2, false, 4)}, 1},
		{"earliest passing wins a tie", []*cycle{c(1, true, 9), c(2, true, 9)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, best(tc.cycles).N)
		})
	}
	require.Nil(t, best(nil))
}

func TestProvenIgnoresEditFindingsOfAPassingChange(t *testing.T) {
	t.Parallel()
	c := &cycle{N: 1, Applied: 2, Score: score.Result{Passed: true, Overall: 9.3},
		EditFindings: []Finding{{Source: "edit", Category: "malformed_edit", Message: "hunk 2 has no + or - lines"}}}
	require.True(t, c.proven(), "a malformed hunk beside a change that passes every gate does not discard it")
}

func TestDecisiveFailureNamesTheFirstErrorWithItsPlace(t *testing.T) {
	t.Parallel()
	c := &cycle{N: 1, Applied: 1,
		EditFindings: []Finding{{Category: "search_not_found", Message: "block 1 not found"}},
		Reports: []Report{
			{Validator: "build", Passed: true},
			{Validator: "test", Findings: []Finding{
				{File: "calc/calc_test.go", Line: 12, Category: "test_failure", Severity: "warning", Message: "noise"},
				{File: "calc/calc_test.go", Line: 17, Category: "test_failure", Severity: "error", Message: "TestAdd: got 3, want 4"},
			}},
		},
		Score: score.Result{Gate: "1 of 3 tests failed"},
	}
	require.Equal(t, "test: calc/calc_test.go:17: TestAdd: got 3, want 4", decisive(c))
	require.Equal(t, "cycle 1: test: calc/calc_test.go:17: TestAdd: got 3, want 4 (1 of 3 tests failed)", failureReason(c))

	c.Reports[0] = Report{Validator: "build", Findings: []Finding{{File: "calc/calc.go", Line: 3, Column: 2, Message: "undefined: x"}}}
	require.Equal(t, "build: calc/calc.go:3: undefined: x", decisive(c), "a compiler error decides before a test")

	c.Reports = nil
	require.Equal(t, "edit: block 1 not found", decisive(c))
	require.Empty(t, decisive(&cycle{}))
}

func TestFeedbackSeparatesAlreadyAppliedAndListsChangedFiles(t *testing.T) {
	t.Parallel()
	c := &cycle{N: 2, Applied: 1, Changed: []string{"x.go", "x_test.go"},
		EditFindings: []Finding{
			{Source: "edit", File: "x_test.go", Line: 7, Category: "already_applied", Severity: "info", Message: "hunk 1: skipped: not applied twice"},
			{Source: "edit", File: "x.go", Line: 12, Category: "search_not_found", Severity: "error", Message: "block 2: search text not found"},
		}}
	fb := feedback(c)
	require.Contains(t, fb, "## Edits that could not be applied\n- x.go:12: block 2: search text not found")
	require.Contains(t, fb, "## Edits already applied (skipped, not applied twice)\n- hunk 1")
	require.Contains(t, fb, "Files changed since the base commit")
	require.Contains(t, fb, "- x.go\n- x_test.go")
	require.Len(t, scoreInput(c).EditFindings, 1, "an already-applied hunk is not held against the change")
}

func TestTestsPassedNeedsATestThatRan(t *testing.T) {
	t.Parallel()
	build := Report{Validator: "build", Passed: true}
	c := func(test Report) *cycle { return &cycle{Applied: 1, Reports: []Report{build, test}} }
	require.True(t, c(Report{Validator: "test", Passed: true, TestsTotal: 3, TestsPassed: 3}).testsPassed())
	require.False(t, c(Report{Validator: "test", Passed: true}).testsPassed(), "no test ran")
	require.False(t, c(Report{Validator: "test", Passed: true, TestsTotal: 2, TestsSkipped: 2}).testsPassed(), "every test skipped")
	require.False(t, c(Report{Validator: "test", Passed: false, TestsTotal: 2, TestsFailed: 1}).testsPassed())
	require.False(t, (&cycle{Applied: 1, Reports: []Report{build}}).testsPassed(), "no test validator ran")
}
