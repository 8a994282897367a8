package jscheck_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
)

const clampTS = `/** Limits n to [lo, hi]. */
export function clamp(n: number, lo: number, hi: number): number {
  if (n < lo) {
    return lo;
  }
  return n > hi ? hi : n;
}
`

func jsMutation(t *testing.T, test string) check.Report {
	t.Helper()
	dir := sample(t)
	write(t, dir, "src/clamp.ts", clampTS)
	write(t, dir, "test/clamp.test.ts", test)
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{Changed: []string{"src/clamp.ts", "test/clamp.test.ts"},
		Mutation: &check.MutationOptions{MaxMutants: 4, Time: 60 * time.Second}})
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
	require.NotNil(t, rep.Mutation)
	require.True(t, rep.Mutation.Measured, rep.Mutation.Reason)
	after := read(t, dir, "src/clamp.ts")
	require.Equal(t, clampTS, after, "every mutant is undone")
	return rep
}

func read(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := readFile(dir, rel)
	require.NoError(t, err)
	return string(b)
}

func TestJSMutationStrongAndWeakTests(t *testing.T) {
	t.Parallel()
	strong := jsMutation(t, `import { expect, it } from "vitest";
import { clamp } from "../src/clamp.js";
it("clamps", () => {
  expect(clamp(-1, 0, 10)).toBe(0);
  expect(clamp(5, 0, 10)).toBe(5);
  expect(clamp(11, 0, 10)).toBe(10);
});
`)
	m := strong.Mutation
	require.Equal(t, 4, m.Run)
	require.GreaterOrEqual(t, m.Killed, 3, "%v", strong.Findings) // n <= lo is equivalent to n < lo here
	require.True(t, m.Functions[0].GateKilled)

	weak := jsMutation(t, `import { expect, it } from "vitest";
import { clamp } from "../src/clamp.js";
it("returns something", () => {
  expect(clamp(5, 0, 10)).not.toBeNull();
});
`)
	m = weak.Mutation
	require.True(t, m.Functions[0].GateRun)
	require.False(t, m.Functions[0].GateKilled, "undefined is not null: the zero-value mutant survives")
	var msgs []string
	for _, f := range weak.Findings {
		if f.Category == check.CategorySurvivingMutant {
			msgs = append(msgs, f.Message)
		}
	}
	require.Contains(t, strings.Join(msgs, "\n"), "tests still pass when clamp returns zero values")
}

// TestJSMutationRunsBesideAFailingTest: a test already failing (one that
// even imports the changed file, inside a describe block) is left out of the
// mutants' runs, so it neither fails the run's test strength nor kills every
// mutant: a weak new test is still caught, a strong one still passes.
func TestJSMutationRunsBesideAFailingTest(t *testing.T) {
	t.Parallel()
	broken := `import { describe, expect, it } from "vitest";
import { clamp } from "../src/clamp.js";
describe("legacy", () => {
  it("was broken before the change", () => {
    expect(clamp(1, 0, 2)).toBe(99);
  });
});
`
	for name, tt := range map[string]struct {
		test   string
		strong bool
	}{
		"weak": {`import { expect, it } from "vitest";
import { clamp } from "../src/clamp.js";
it("returns something", () => {
  expect(clamp(5, 0, 10)).not.toBeNull();
});
`, false},
		"strong": {`import { expect, it } from "vitest";
import { clamp } from "../src/clamp.js";
it("clamps", () => {
  expect(clamp(-1, 0, 10)).toBe(0);
  expect(clamp(5, 0, 10)).toBe(5);
  expect(clamp(11, 0, 10)).toBe(10);
});
`, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := sample(t)
			write(t, dir, "src/clamp.ts", clampTS)
			write(t, dir, "test/clamp.test.ts", tt.test)
			write(t, dir, "test/legacy.test.ts", broken)
			rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{Changed: []string{"src/clamp.ts", "test/clamp.test.ts"},
				Mutation: &check.MutationOptions{MaxMutants: 4, Time: 60 * time.Second}})
			require.NoError(t, err)
			require.False(t, rep.OK, "the broken test still fails the run")
			require.NotNil(t, rep.Mutation, rep.Log)
			require.True(t, rep.Mutation.Measured, rep.Mutation.Reason)
			require.Equal(t, tt.strong, rep.Mutation.Functions[0].GateKilled, "%+v", rep.Mutation)
			require.Equal(t, clampTS, read(t, dir, "src/clamp.ts"), "every mutant is undone")
		})
	}
}
