package criteria

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGoFindsTheExecutableExamples(t *testing.T) {
	funcs := []string{"Truncate", "IsLeap", "DaysInMonth", "Chunk", "ToRoman"}
	got := Go([]string{
		`Truncate("héllo", 2) == "hé…"`,                               // 1: comparison
		`!IsLeap(1900)`,                                               // 2: negation
		`IsLeap(2000)`,                                                // 3: truth
		"`DaysInMonth(2024, 2)` returns `29`.",                        // 4: prose "returns", code spans
		`Chunk([1 2 3 4 5], 2) == [[1 2] [3 4] [5]]`,                  // 5: not Go
		`ParseHex("#F80") == {255 136 0}, true`,                       // 6: not Go, not ours
		`Truncate(s, 3) == "abc"`,                                     // 7: a variable
		`Truncate(strings.Repeat("a", 4), 2) == "a…"`,                 // 8: another call
		`Reverse("ab") == "ba"`,                                       // 9: not a function the change declares
		`ToRoman(1994) returns "MCMXCIV" and ToRoman(4) returns "IV"`, // 10: two examples in prose
		`Chunk([]int{1, 2, 3}, int(2)) != nil`,                        // 11: composite literal, builtin conversion
		`the result is valid UTF-8`,                                   // 12: prose
	}, funcs)
	var ns []int
	for _, e := range got {
		ns = append(ns, e.N)
	}
	require.Equal(t, []int{1, 2, 3, 4, 11}, ns)
	require.Equal(t, Example{N: 1, Text: `Truncate("héllo", 2) == "hé…"`, Func: "Truncate", Call: `Truncate("héllo", 2)`, Want: `"hé…"`, Op: Equal}, got[0])
	require.Equal(t, False, got[1].Op)
	require.Equal(t, `IsLeap(1900)`, got[1].Call)
	require.Equal(t, True, got[2].Op)
	require.Equal(t, `DaysInMonth(2024, 2)`, got[3].Call)
	require.Equal(t, `29`, got[3].Want)
	require.Equal(t, NotEqual, got[4].Op)
}

func TestGoTestFileCompilesAndTracesLines(t *testing.T) {
	ex := Go([]string{`Truncate("héllo", 2) == "hé…"`, `!IsLeap(1900)`}, []string{"Truncate", "IsLeap"})
	src := GoTestFile("truncate", ex)
	f, err := parser.ParseFile(token.NewFileSet(), "x_test.go", src, 0)
	require.NoError(t, err, "%s", src)
	require.Equal(t, "truncate", f.Name.Name)
	s := string(src)
	require.Contains(t, s, "func TestMooseCriterion1(t *testing.T) {")
	require.Contains(t, s, "func TestMooseCriterion2(t *testing.T) {")
	require.Contains(t, s, `got := Truncate("héllo", 2)`)
	require.Contains(t, s, "if IsLeap(1900) {")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		switch {
		case strings.Contains(l, "Truncate(\"héllo\", 2)\n") || strings.HasPrefix(l, "\tgot := Truncate"):
			require.Equal(t, 1, GoExampleAt(src, i+1))
		case strings.HasPrefix(l, "\tif IsLeap"):
			require.Equal(t, 2, GoExampleAt(src, i+1))
		case strings.HasPrefix(l, "import"):
			require.Equal(t, 0, GoExampleAt(src, i+1))
		}
	}
}

func TestGoFuncsListsTopLevelFunctions(t *testing.T) {
	pkg, funcs := GoFuncs([]byte("package leap\n\nfunc IsLeap(y int) bool { return false }\nfunc (d Date) Next() Date { return d }\nfunc init() {}\nfunc daysIn(m int) int { return 0 }\n"))
	require.Equal(t, "leap", pkg)
	require.Equal(t, []string{"IsLeap", "daysIn"}, funcs)
}
