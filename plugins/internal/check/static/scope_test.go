package static_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/static"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
	return dir
}

func stubs(fs []check.Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Category == check.CategoryStub {
			out = append(out, f.File+": "+f.Message)
		}
	}
	return out
}

func TestScanWorkOrderNamedStubLeftInPlace(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"calc/calc.go": "package calc\n\n// Reverse reverses s.\nfunc Reverse(s string) string {\n\tpanic(\"not implemented\")\n}\n\n" +
			"// Clamp clamps x.\nfunc Clamp(x, lo, hi int) int {\n\treturn 0\n}\n\nfunc Other(s string) string { return \"\" }\n",
		"calc/calc_test.go": "package calc\n\nimport \"testing\"\n\nfunc TestReverse(t *testing.T) {}\n",
		"web/src/slug.ts":   "export function slugify(s: string): string {\n  throw new Error(\"not implemented\");\n}\nexport const pad = (s: string): string => \"\";\n",
	})
	// The proposal only added a test; the work order names Reverse, Clamp, slugify and pad.
	fs, err := static.Scan(dir, static.Whole("calc/calc_test.go"),
		"Implement Reverse and Clamp\nMake `slugify` and pad() work.\n- Other things stay as they are")
	require.NoError(t, err)
	got := stubs(fs)
	require.Len(t, got, 4, got)
	joined := strings.Join(got, "\n")
	require.Contains(t, joined, "calc/calc.go: stub left in the code")
	require.Contains(t, joined, "calc/calc.go: function the work order asks for Clamp only returns zero values")
	require.Contains(t, joined, "web/src/slug.ts: stub left in the code")
	require.Contains(t, joined, "web/src/slug.ts: function the work order asks for pad only returns zero values")
	require.NotContains(t, joined, "Other", "a function the work order does not name is not blamed")
}

func TestScanWidensChangedLinesToFunctions(t *testing.T) {
	t.Parallel()
	src := "package p\n\nimport \"errors\"\n\nfunc Sum(xs []int) int {\n\t// TODO handle overflow\n\ttotal := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n\n" +
		"func Max(xs []int) int {\n\treturn 0\n}\n\nfunc (c *closer) Close() error { return nil }\n\nfunc Untouched() error {\n\t// TODO later\n\treturn errors.New(\"x\")\n}\n\ntype closer struct{}\n"
	dir := writeTree(t, map[string]string{"p/p.go": src})
	lines := func(s string) int { return strings.Count(src[:strings.Index(src, s)], "\n") + 1 }
	fs, err := static.Scan(dir, []static.File{{Path: "p/p.go", Lines: []int{lines("total += x"), lines("return 0"), lines("Close()")}}}, "")
	require.NoError(t, err)
	require.ElementsMatch(t, []loc{
		{"p/p.go", lines("TODO handle"), check.CategoryMarker}, // same function as the changed line
		{"p/p.go", lines("func Max"), check.CategoryStub},      // takes parameters, returns only zero values
	}, locs(fs), "Close() error { return nil } is a legitimate no-op; the TODO in Untouched is not the change's")
}

func TestWorkOrderNames(t *testing.T) {
	t.Parallel()
	n := static.WorkOrderNames("Add Reverse to strutil. Fix parse_int and `Trim`.\n- Cart.Total() sums the items")
	for _, w := range []string{"Reverse", "strutil", "parse_int", "Trim", "Cart.Total", "Total", "Cart", "sums"} {
		require.True(t, n[w], w)
	}
	require.False(t, n["Add"], "a sentence's first word is a verb, not a name")
	require.False(t, n["Fix"])
}

func TestEmptyCollectionsAreZeroValues(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"p/p.go": "package p\n\nfunc Index(xs []string) map[string]int {\n\treturn make(map[string]int)\n}\n\nfunc Keys(m map[string]int) []string {\n\treturn make([]string, 0)\n}\n\n" +
			"func Grow(n int) []int {\n\treturn make([]int, n)\n}\n",
		"src/count.ts": "export function countBy<T>(xs: T[], key: (x: T) => string): Map<string, number> {\n  return new Map<string, number>();\n}\n" +
			"export function uniq(xs: string[]): Set<string> {\n  return new Set(xs);\n}\n",
	})
	fs, err := static.Scan(dir, []static.File{static.Whole("p/p.go")[0], static.Whole("src/count.ts")[0]}, "Implement Index, Keys, Grow, countBy and uniq")
	require.NoError(t, err)
	joined := strings.Join(stubs(fs), "\n")
	for _, name := range []string{"Index", "Keys", "countBy"} {
		require.Contains(t, joined, " "+name+" only returns zero values", joined)
	}
	require.NotContains(t, joined, "Grow", "make([]int, n) builds n elements")
	require.NotContains(t, joined, "uniq", "new Set(xs) holds xs")
}

// TestNamedFunctionThatOnlyThrowsIsAStub: a function the work order asks
// for whose whole body throws or panics, whatever the message, is not
// implemented; one that throws on a condition and works otherwise is, and
// so is an unnamed function that only throws.
func TestNamedFunctionThatOnlyThrowsIsAStub(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"src/center.ts": "export function center(s: string, width: number): string {\n  throw new Error(\"TODO\");\n}\n" +
			"export function pad(s: string, n: number): string {\n  if (n < 0) {\n    throw new RangeError(\"n < 0\");\n  }\n  return s.padEnd(n);\n}\n" +
			"export function unsupported(): never {\n  throw new Error(\"unsupported\");\n}\n",
		"calc/calc.go": "package calc\n\n// Half halves n.\nfunc Half(n int) int {\n\tpanic(\"later\")\n}\n\n" +
			"// Must panics on err.\nfunc Must(err error) {\n\tif err != nil {\n\t\tpanic(err)\n\t}\n}\n",
	})
	fs, err := static.Scan(dir, static.Whole("test/center.test.ts"), "Implement center and pad in src/center.ts, Half and Must in calc")
	require.NoError(t, err)
	got := strings.Join(stubs(fs), "\n")
	require.Contains(t, got, "src/center.ts: function center, which the work order asks for, only throws: it is not implemented")
	require.Contains(t, got, "calc/calc.go: function Half, which the work order asks for, only panics: it is not implemented")
	require.NotContains(t, got, "pad", "a conditional throw is an implementation")
	require.NotContains(t, got, "Must", "a conditional panic is an implementation")
	require.NotContains(t, got, "unsupported", "a function the work order does not name is not blamed")
}
