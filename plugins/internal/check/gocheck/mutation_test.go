package gocheck_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
)

const clampSrc = `package strutil

// Clamp limits n to [lo, hi].
func Clamp(n, lo, hi int) int {
	if n < lo {
		return lo
	}
	if n > hi {
		return hi
	}
	return n
}
`

const strongClampTest = `package strutil

import "testing"

func TestClamp(t *testing.T) {
	for _, c := range []struct{ n, want int }{{-5, 0}, {0, 0}, {3, 3}, {10, 10}, {11, 10}} {
		if got := Clamp(c.n, 0, 10); got != c.want {
			t.Errorf("Clamp(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
`

const weakClampTest = `package strutil

import "testing"

func TestClampDoesNotPanic(t *testing.T) {
	defer func() {
		if recover() != nil {
			t.Fatal("panicked")
		}
	}()
	_ = Clamp(3, 0, 10)
}
`

func mutationRun(t *testing.T, test string) check.Report {
	t.Helper()
	dir := sample(t)
	write(t, dir, "strutil/clamp.go", clampSrc)
	write(t, dir, "strutil/clamp_test.go", test)
	changed := []string{"strutil/clamp.go", "strutil/clamp_test.go"}
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Changed: changed,
		Mutation: &check.MutationOptions{MaxMutants: 12, Time: 40 * time.Second}})
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
	require.NotNil(t, rep.Mutation)
	require.True(t, rep.Mutation.Measured, rep.Mutation.Reason)
	return rep
}

func TestMutationStrongTestsKillMutants(t *testing.T) {
	t.Parallel()
	rep := mutationRun(t, strongClampTest)
	m := rep.Mutation
	require.Equal(t, 6, m.Run+m.NotViable, "zero value, panic, two flips and two boundaries")
	// n <= lo → lo and n >= hi → hi return what n itself is at the boundary:
	// the two boundary mutants are equivalent, which no test can kill. The
	// threshold (0.6) leaves room for them.
	require.Equal(t, 4, m.Killed, "%+v", rep.Findings)
	require.Len(t, m.Functions, 1)
	require.True(t, m.Functions[0].Reached)
	require.True(t, m.Functions[0].GateRun)
	require.True(t, m.Functions[0].GateKilled)
}

func TestMutationWeakTestsLeaveSurvivors(t *testing.T) {
	t.Parallel()
	rep := mutationRun(t, weakClampTest)
	m := rep.Mutation
	require.Less(t, float64(m.Killed)/float64(max(m.Run, 1)), 0.3, "%+v", m)
	require.True(t, m.Functions[0].GateRun)
	require.False(t, m.Functions[0].GateKilled, "the zero-value mutant survives a does-not-panic test")
	var msgs []string
	for _, f := range rep.Findings {
		if f.Category == check.CategorySurvivingMutant {
			require.Equal(t, "strutil/clamp.go", f.File)
			msgs = append(msgs, f.Message)
		}
	}
	require.Contains(t, strings.Join(msgs, "\n"), "tests still pass when Clamp returns zero values")
}

// A test that already fails (in the changed package and elsewhere) neither
// stops test strength from being measured nor kills mutants by itself.
func TestMutationRunsBesideAFailingTest(t *testing.T) {
	t.Parallel()
	broken := "package strutil\n\nimport \"testing\"\n\nfunc TestAlreadyBroken(t *testing.T) {\n\tt.Run(\"case\", func(t *testing.T) { t.Fatal(\"broken before the change\") })\n}\n"
	for name, tt := range map[string]struct {
		test   string
		strong bool
	}{"weak": {weakClampTest, false}, "strong": {strongClampTest, true}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := sample(t)
			write(t, dir, "strutil/clamp.go", clampSrc)
			write(t, dir, "strutil/clamp_test.go", tt.test)
			write(t, dir, "strutil/broken_test.go", broken)
			rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Changed: []string{"strutil/clamp.go", "strutil/clamp_test.go"},
				Mutation: &check.MutationOptions{MaxMutants: 12, Time: 40 * time.Second}})
			require.NoError(t, err)
			require.False(t, rep.OK, "the broken test still fails the run")
			require.NotNil(t, rep.Mutation)
			require.True(t, rep.Mutation.Measured, rep.Mutation.Reason)
			require.Equal(t, tt.strong, rep.Mutation.Functions[0].GateKilled, "%+v", rep.Mutation)
			if !tt.strong {
				require.Less(t, float64(rep.Mutation.Killed)/float64(max(rep.Mutation.Run, 1)), 0.3, "the broken test kills nothing")
			}
		})
	}
	// A package that does not build measures nothing.
	dir := sample(t)
	write(t, dir, "strutil/clamp.go", clampSrc)
	write(t, dir, "strutil/clamp_test.go", strongClampTest+"\nfunc TestNoBuild(t *testing.T) { undefinedThing() }\n")
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Changed: []string{"strutil/clamp.go"},
		Mutation: &check.MutationOptions{MaxMutants: 12, Time: 40 * time.Second}})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Nil(t, rep.Mutation)
}
