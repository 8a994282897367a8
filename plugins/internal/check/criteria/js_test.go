package criteria

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSFindsTheExecutableExamples(t *testing.T) {
	funcs := []string{"wrapIndex", "center", "isValidLuhn", "mean", "range", "countBy", "parseDuration"}
	got := JS([]string{
		`wrapIndex(-1, 5) === 4`,           // 1
		`center("ab", 5, "*") === "*ab**"`, // 2
		`!isValidLuhn("0")`,                // 3
		`mean([]) === 0`,                   // 4
		`range(0, 5) gives [0,1,2,3,4]`,    // 5: prose "gives"
		`countBy(["apple","avocado"], s => s[0]) gives a→2, b→1`, // 6: an arrow function, prose
		`parseDuration("") throws`,                               // 7: prose
		`wrapIndex(n, 5) === 4`,                                  // 8: a variable
		"`isValidLuhn(\"4539 3195 0343 6467\")`",                 // 9: a code span
		`mean({a: 1, "b": [2]}) !== null`,                        // 10: object keys
		"center(`a${x}`, 3) === 'a'",                             // 11: a template substitution
	}, funcs)
	var ns []int
	for _, e := range got {
		ns = append(ns, e.N)
	}
	require.Equal(t, []int{1, 2, 3, 4, 5, 9, 10}, ns)
	require.Equal(t, Example{N: 1, Text: `wrapIndex(-1, 5) === 4`, Func: "wrapIndex", Call: `wrapIndex(-1, 5)`, Want: `4`, Op: Equal}, got[0])
	require.Equal(t, `"*ab**"`, got[1].Want)
	require.Equal(t, Example{N: 3, Text: `!isValidLuhn("0")`, Func: "isValidLuhn", Call: `isValidLuhn("0")`, Op: False}, got[2])
	require.Equal(t, `[0,1,2,3,4]`, got[4].Want)
	require.Equal(t, True, got[5].Op)
	require.Equal(t, NotEqual, got[6].Op)
	require.Equal(t, `mean({a: 1, "b": [2]})`, got[6].Call)
}

func TestJSExportsAndTestFile(t *testing.T) {
	src := "export function wrapIndex(i: number, n: number): number { return i }\nexport const mean = (xs: number[]) => 0;\nfunction hidden() {}\nexport { hidden as shown, other };\nexport async function* gen() {}\n"
	require.Equal(t, []string{"wrapIndex", "mean", "gen", "shown", "other"}, JSExports(src))
	f := JSTestFile("../src/wrapindex", true, JS([]string{"wrapIndex(-1, 5) === 4", "!wrapIndex(0, 1)"}, []string{"wrapIndex"}))
	require.Contains(t, f, `import { test, expect } from "vitest";`)
	require.Contains(t, f, `import * as moose_subject from "../src/wrapindex";`)
	require.Contains(t, f, `test("TestMooseCriterion1", () => {`)
	require.Contains(t, f, `expect(moose_subject.wrapIndex(-1, 5)).toEqual(4);`)
	require.Contains(t, f, `expect(Boolean(moose_subject.wrapIndex(0, 1))).toBe(false);`)
	require.NotContains(t, JSTestFile("./m", false, nil), "vitest", "jest has test and expect as globals")
}
