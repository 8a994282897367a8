package gocheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
)

// A wrong Clamp (n > hi returns lo) with a test that agrees with it: the
// proposal's own tests pass, but the work order's examples do not.
const wrongClampSrc = `package strutil

// Clamp limits n to [lo, hi].
func Clamp(n, lo, hi int) int {
	if n < lo || n > hi {
		return lo
	}
	return n
}
`

const agreeingClampTest = `package strutil

import "testing"

func TestClampInRange(t *testing.T) {
	if Clamp(3, 0, 10) != 3 {
		t.Fatal("in range")
	}
}
`

func criteriaRun(t *testing.T, src string, criteria []string) check.Report {
	t.Helper()
	dir := sample(t)
	write(t, dir, "strutil/clamp.go", src)
	write(t, dir, "strutil/clamp_test.go", agreeingClampTest)
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Changed: []string{"strutil/clamp.go", "strutil/clamp_test.go"}, Criteria: criteria})
	require.NoError(t, err)
	// The tree is never written: the examples reach go test through -overlay.
	entries, err := os.ReadDir(filepath.Join(dir, "strutil"))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), "criteria", "the examples' test file is not left in the tree")
	}
	return rep
}

func TestCriteriaCatchAWrongImplementationItsTestsAgreeWith(t *testing.T) {
	t.Parallel()
	criteria := []string{
		"Clamp(11, 0, 10) == 10",         // 1: does not hold for the wrong Clamp
		"`Clamp(-5, 0, 10)` returns `0`", // 2: holds
		"Clamp(3, 0, 10) == \"three\"",   // 3: does not compile (int vs string): not checked
		"clamps to the range",            // 4: prose
	}
	rep := criteriaRun(t, wrongClampSrc, criteria)
	require.False(t, rep.OK, "an example that does not hold fails the run: %+v", rep.Findings)
	var errs, notes []check.Finding
	for _, f := range rep.Findings {
		if f.Category == check.CategoryCriterion {
			if f.Severity == check.SeverityError {
				errs = append(errs, f)
			} else {
				notes = append(notes, f)
			}
		}
	}
	require.Len(t, errs, 1, "%+v", rep.Findings)
	require.Equal(t, "strutil/clamp.go", errs[0].File)
	require.Contains(t, errs[0].Message, "acceptance criterion 1 (Clamp(11, 0, 10) == 10) does not hold: Clamp(11, 0, 10) returned 0")
	require.Len(t, notes, 1)
	require.Contains(t, notes[0].Message, "1 of 2 hold")
	require.Contains(t, notes[0].Message, "criteria 3 do not compile")
	require.Equal(t, 1, rep.Tests.Failed)
	require.Equal(t, 1, moosePassed(rep), "criterion 2")
	var names []string
	for _, c := range rep.Tests.Cases {
		names = append(names, c.Name)
	}
	require.Contains(t, strings.Join(names, " "), "TestMooseCriterion1")
}

func TestCriteriaHoldForACorrectImplementation(t *testing.T) {
	t.Parallel()
	rep := criteriaRun(t, clampSrc, []string{"Clamp(11, 0, 10) == 10", "Clamp(-5, 0, 10) returns 0", "Clamp(5, 0, 10) != 0"})
	require.True(t, rep.OK, "%s\n%+v", rep.Log, rep.Findings)
	require.Equal(t, 0, rep.Tests.Failed)
	require.Equal(t, 3, moosePassed(rep), "each example is a test that passed")
	var note string
	for _, f := range rep.Findings {
		if f.Category == check.CategoryCriterion {
			require.Equal(t, check.SeverityInfo, f.Severity)
			note = f.Message
		}
	}
	require.Equal(t, "acceptance criteria checked as examples: 3 of 3 hold", note)
}

func moosePassed(rep check.Report) int {
	n := 0
	for _, c := range rep.Tests.Cases {
		if strings.HasPrefix(c.Name, "TestMooseCriterion") && c.Status == check.TestPassed {
			n++
		}
	}
	return n
}

// Values take the call's result type: slices and maps compare deeply and an
// untyped constant means what it says for a float64 result.
func TestCriteriaCompareSlicesMapsAndFloats(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	write(t, dir, "strutil/words.go", `package strutil

import "strings"

// Words splits s on spaces.
func Words(s string) []string { return strings.Fields(s) }

// Count counts each word.
func Count(s string) map[string]int {
	m := map[string]int{}
	for _, w := range Words(s) {
		m[w]++
	}
	return m
}

// Half halves n.
func Half(n int) float64 { return float64(n) / 2 }
`)
	write(t, dir, "strutil/words_test.go", "package strutil\n\nimport \"testing\"\n\nfunc TestHalf(t *testing.T) {\n\tif Half(4) != 2 {\n\t\tt.Fatal(Half(4))\n\t}\n}\n")
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Changed: []string{"strutil/words.go", "strutil/words_test.go"}, Criteria: []string{
		`Words("a b  c") == []string{"a", "b", "c"}`,
		`Count("a b a") == map[string]int{"a": 2, "b": 1}`,
		`Half(5) == 2.5`,
		`Half(5) == 2`,
	}})
	require.NoError(t, err)
	var failed []string
	for _, f := range rep.Findings {
		if f.Category == check.CategoryCriterion && f.Severity == check.SeverityError {
			failed = append(failed, f.Message)
		}
	}
	require.Len(t, failed, 1, "%+v", rep.Findings)
	require.Contains(t, failed[0], "acceptance criterion 4 (Half(5) == 2) does not hold: Half(5) returned 2.5")
	require.Equal(t, 3, moosePassed(rep))
}
