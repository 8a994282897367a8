package jscheck_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
)

func TestFailingTestsCarryDiffAndProjectFrame(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	line := appendTo(t, dir, "test/strings.test.ts", `
describe("evidence", () => {
  it("diffs", () => {
    expect({ a: 1, b: [1, 2] }).toEqual({ a: 1, b: [1, 3] });
  });
  it("throws", () => {
    expect(truncate("abc", -1)).toBe("x");
  });
});
`)
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, 2, rep.Tests.Failed)
	byName := map[string]check.Finding{}
	for _, f := range rep.Findings {
		if f.Category == check.CategoryTestFailure {
			for _, n := range []string{"evidence diffs", "evidence throws"} {
				if len(f.Message) > len(n) && f.Message[:len(n)] == n {
					byName[n] = f
				}
			}
		}
	}
	diff := byName["evidence diffs"]
	// Before: only "AssertionError: expected ... to deeply equal ...".
	require.Equal(t, "test/strings.test.ts", diff.File)
	require.Equal(t, line+3, diff.Line)
	for _, want := range []string{"to deeply equal", "- Expected", "+ Received", "-     3,", "+     2,", "at test/strings.test.ts:"} {
		require.Contains(t, diff.Message, want)
	}
	require.NotContains(t, diff.Message, "node_modules")
	require.NotContains(t, diff.Message, dir)

	thrown := byName["evidence throws"]
	// The first frame in the project is the source that threw, not the test.
	require.Equal(t, "src/strings.ts", thrown.File, "%+v", rep.Findings)
	require.Equal(t, 20, thrown.Line)
	require.Contains(t, thrown.Message, "RangeError: max must be at least 1")
	require.Contains(t, thrown.Message, "at src/strings.ts:20:11 in truncate")
	require.Contains(t, thrown.Message, "test/strings.test.ts:")
}
