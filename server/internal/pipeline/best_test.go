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
