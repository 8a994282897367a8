package jscheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
)

// A wrong clamp (above hi returns lo) with a test that agrees with it.
const wrongClampTS = `export function clamp(n: number, lo: number, hi: number): number {
  return n < lo || n > hi ? lo : n;
}
`

const agreeingClampTest = `import { expect, test } from "vitest";
import { clamp } from "../src/clamp";

test("in range", () => {
  expect(clamp(3, 0, 10)).toBe(3);
});
`

func jsCriteria(t *testing.T, src string, criteria []string) check.Report {
	t.Helper()
	dir := sample(t)
	write(t, dir, "src/clamp.ts", src)
	write(t, dir, "test/clamp.test.ts", agreeingClampTest)
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{Changed: []string{"src/clamp.ts", "test/clamp.test.ts"}, Criteria: criteria})
	require.NoError(t, err)
	entries, err := os.ReadDir(filepath.Join(dir, "test"))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), "moose-criteria", "the examples' test file is removed")
	}
	return rep
}

func criteriaFindings(rep check.Report) (errs, notes []check.Finding) {
	for _, f := range rep.Findings {
		if f.Category == check.CategoryCriterion {
			if f.Severity == check.SeverityError {
				errs = append(errs, f)
			} else {
				notes = append(notes, f)
			}
		}
	}
	return errs, notes
}

func TestJSCriteriaCatchAWrongImplementationItsTestsAgreeWith(t *testing.T) {
	t.Parallel()
	rep := jsCriteria(t, wrongClampTS, []string{"clamp(11, 0, 10) === 10", "clamp(-5, 0, 10) returns 0", "clamps to the range"})
	require.False(t, rep.OK, "%+v", rep.Findings)
	errs, notes := criteriaFindings(rep)
	require.Len(t, errs, 1, "%+v", rep.Findings)
	require.Equal(t, "src/clamp.ts", errs[0].File)
	require.Contains(t, errs[0].Message, "acceptance criterion 1 (clamp(11, 0, 10) === 10) does not hold: clamp(11, 0, 10): ")
	require.Len(t, notes, 1)
	require.Equal(t, "acceptance criteria checked as examples: 1 of 2 hold", notes[0].Message)
	require.Equal(t, 1, rep.Tests.Failed)
}

func TestJSCriteriaHoldForACorrectImplementation(t *testing.T) {
	t.Parallel()
	rep := jsCriteria(t, clampTS, []string{"clamp(11, 0, 10) === 10", "!clamp(0, 0, 10)", "clamp(5, 0, 10) !== 0"})
	require.True(t, rep.OK, "%s\n%+v", rep.Log, rep.Findings)
	errs, notes := criteriaFindings(rep)
	require.Empty(t, errs)
	require.Len(t, notes, 1)
	require.Equal(t, "acceptance criteria checked as examples: 3 of 3 hold", notes[0].Message)
	n := 0
	for _, c := range rep.Tests.Cases {
		if strings.HasPrefix(c.Name, "TestMooseCriterion") {
			require.Equal(t, check.TestPassed, c.Status)
			n++
		}
	}
	require.Equal(t, 3, n)
}
