package mutate_test

import (
	"go/format"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check/mutate"
)

const goSrc = `package p

import (
	"errors"
	"strings"
)

func Sum(xs []int) (total int, err error) {
	for i := 0; i < len(xs); i++ {
		total += xs[i]
	}
	if total > 100 && !strings.HasPrefix("a", "b") {
		return 0, errors.New("too big")
	}
	return total, nil
}

func untouched() int { return 1 }
`

func TestGoMutantsCompileShapeAndScope(t *testing.T) {
	t.Parallel()
	ms, targets := mutate.Go("p/p.go", []byte(goSrc), []int{10})
	require.Len(t, targets, 1)
	require.Equal(t, "Sum", targets[0].Func)
	kinds := map[string]int{}
	for _, m := range ms {
		require.Equal(t, "Sum", m.Func, "only the changed function is mutated")
		kinds[m.Kind]++
		out := mutate.FixGoImports([]byte(goSrc), m.Apply([]byte(goSrc)))
		_, err := format.Source(out)
		require.NoError(t, err, "mutant %s %s does not parse:\n%s", m.Kind, m.Desc, out)
		if m.Kind == mutate.KindZeroValue {
			require.Contains(t, string(out), "{ return 0, nil }")
			require.Contains(t, string(out), `_ "errors"`, "imports the mutant no longer uses are blanked")
			require.Contains(t, string(out), `_ "strings"`)
		}
	}
	for _, k := range []string{mutate.KindZeroValue, mutate.KindPanic, mutate.KindComparison, mutate.KindBoundary,
		mutate.KindBoolean, mutate.KindConstant, mutate.KindStatement, mutate.KindArithmetic} {
		require.Positive(t, kinds[k], k)
	}
}

func TestSelectPutsGateMutantsFirstAndSpreads(t *testing.T) {
	t.Parallel()
	var ms []mutate.Mutant
	for _, f := range []string{"A", "B"} {
		ms = append(ms, mutate.Mutant{Func: f, Kind: mutate.KindZeroValue}, mutate.Mutant{Func: f, Kind: mutate.KindPanic})
		for range 5 {
			ms = append(ms, mutate.Mutant{Func: f, Kind: mutate.KindComparison})
		}
	}
	sel := mutate.Select(ms, 6)
	require.Len(t, sel, 6)
	var got []string
	for _, m := range sel {
		got = append(got, m.Func+":"+m.Kind)
	}
	require.Equal(t, "A:zero_value A:panic B:zero_value B:panic A:comparison B:comparison", strings.Join(got, " "))
}

func TestJSMutants(t *testing.T) {
	t.Parallel()
	src := "export function f(a: number, b: Array<number>): number {\n  if (a < 2 && !b.length) {\n    return a * 3;\n  }\n  return a === 1 ? -a : a;\n}\nexport const g = (s: string): string => s + \"x\";\n"
	ms, targets := mutate.JS("src/f.ts", []byte(src), nil)
	require.Len(t, targets, 2)
	descs := map[string]bool{}
	for _, m := range ms {
		descs[m.Func+" "+m.Kind+" "+m.Desc] = true
		require.NotContains(t, string(m.Apply([]byte(src))), "Array<=", "generic brackets are not comparisons")
	}
	for _, d := range []string{"f zero_value returns zero values", "f panic throws", "f comparison `<` → `>=`",
		"f boundary `<` → `<=`", "f boolean `&&` → `||`", "f boolean `!` removed", "f arithmetic `*` → `/`",
		"f constant `2` → `3`", "f comparison `===` → `!==`", "g zero_value returns zero values", "g arithmetic `+` → `-`"} {
		require.True(t, descs[d], "missing %s in %v", d, descs)
	}
	for _, m := range ms {
		if m.Func == "g" && m.Kind == mutate.KindZeroValue {
			require.Contains(t, string(m.Apply([]byte(src))), `=> ("")`)
		}
	}
}
