package jscheck_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/jscheck"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// template is examples/node-strings with its dependencies installed once, through
// check.InstallDeps (npm ci, with network, outside the sandbox).
var template string

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jscheck tests:", err)
		code = 1
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	if _, err := exec.LookPath("npm"); err != nil {
		fmt.Fprintln(os.Stderr, "jscheck tests: npm not installed, skipping")
		return 0, nil
	}
	dir, err := os.MkdirTemp("", "moose-jscheck-template-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	template = filepath.Join(dir, "node-strings")
	if err := copyTree("../../../../examples/node-strings", template); err != nil {
		return 0, err
	}
	if err := check.InstallDeps(context.Background(), template, "typescript"); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// copyTree copies a project without its installed or generated directories.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch d.Name() {
		case "node_modules", "dist", "coverage":
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// sample gives a test its own worktree: a hard-linked copy of the installed template.
func sample(t *testing.T) string {
	t.Helper()
	if template == "" {
		t.Skip("npm not installed")
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap not installed")
	}
	require.NoError(t, sandbox.Available(context.Background()))
	dir := filepath.Join(t.TempDir(), "node-strings")
	out, err := exec.Command("cp", "-al", template, dir).CombinedOutput()
	require.NoError(t, err, string(out))
	return dir
}

// write replaces a file (never writing through a hard link into the template).
func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.Remove(p); err != nil {
		require.ErrorIs(t, err, os.ErrNotExist)
	}
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func appendTo(t *testing.T, dir, rel, content string) int {
	t.Helper()
	old, err := os.ReadFile(filepath.Join(dir, rel))
	require.NoError(t, err)
	write(t, dir, rel, string(old)+content)
	return strings.Count(string(old), "\n") + 1
}

type loc struct {
	file     string
	line     int
	category string
}

func locs(fs []check.Finding) []loc {
	out := make([]loc, len(fs))
	for i, f := range fs {
		out[i] = loc{f.File, f.Line, f.Category}
	}
	return out
}

func TestCleanSampleBuildsAndPasses(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	ctx := context.Background()
	opts := jscheck.Options{Changed: []string{"src/strings.ts", "test/strings.test.ts"}}

	rep, err := jscheck.Build(ctx, dir, opts)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
	require.Empty(t, rep.Findings)
	require.FileExists(t, filepath.Join(dir, "dist", "strings.js"))

	runner, err := jscheck.DetectTestRunner(dir)
	require.NoError(t, err)
	require.Equal(t, jscheck.RunnerVitest, runner)

	rep, err = jscheck.Test(ctx, dir, opts)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
	require.Empty(t, rep.Findings)
	require.True(t, rep.TestsChanged)
	require.Equal(t, 7, rep.Tests.Passed)
	require.Zero(t, rep.Tests.Failed)
	require.NotNil(t, rep.Coverage)
	require.Len(t, rep.Coverage.Files, 1)
	require.Equal(t, "src/strings.ts", rep.Coverage.Files[0].File)
	require.InDelta(t, 100.0, rep.Coverage.Percent, 0.001)
	require.Less(t, rep.Coverage.ProjectPercent, 100.0) // src/index.ts is never loaded
}

func TestBuildReportsTypeErrors(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	line := appendTo(t, dir, "src/strings.ts", `
export function shout(s: string): string {
  return s.toUpperCase() + exclaim(s);
}

export function size(s: string): string {
  return s.length;
}
`)
	rep, err := jscheck.Build(context.Background(), dir, jscheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, []loc{
		{"src/strings.ts", line + 2, check.CategoryUndefinedSymbol},
		{"src/strings.ts", line + 6, check.CategoryTypeError},
	}, locs(rep.Findings))
	require.Contains(t, rep.Findings[0].Message, "TS2304: Cannot find name 'exclaim'")
	require.NoFileExists(t, filepath.Join(dir, "dist", "strings.js")) // build did not run
}

func TestBuildReportsMissingImport(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	write(t, dir, "src/index.ts", "export { capitalize } from \"./strings.js\";\nexport { pad } from \"./pad.js\";\n")
	rep, err := jscheck.Build(context.Background(), dir, jscheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, []loc{{"src/index.ts", 2, check.CategoryMissingImport}}, locs(rep.Findings))
}

func TestTestReportsFailingTest(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	line := appendTo(t, dir, "test/strings.test.ts", `
describe("broken", () => {
  it("fails", () => {
    expect(capitalize("a")).toBe("b");
  });
});
`)
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{Changed: []string{"test/strings.test.ts"}})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, 1, rep.Tests.Failed)
	require.Equal(t, 7, rep.Tests.Passed)
	require.Equal(t, []loc{{"test/strings.test.ts", line + 3, check.CategoryTestFailure}}, locs(rep.Findings))
	require.Contains(t, rep.Findings[0].Message, "broken fails")
	require.Contains(t, rep.Log, "broken")
}

func TestTestReportsUnloadableTestFile(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	write(t, dir, "test/extra.test.ts", "import { it } from \"vitest\";\nimport { nope } from \"../src/nope.js\";\nit(\"x\", () => nope());\n")
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Len(t, rep.Findings, 1)
	require.Equal(t, "test/extra.test.ts", rep.Findings[0].File)
	require.Equal(t, check.CategoryMissingImport, rep.Findings[0].Category)
}

func TestTestRequiresRunner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"x"}`), 0o644))
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, check.CategoryNoTests, rep.Findings[0].Category)

	_, err = jscheck.Build(context.Background(), t.TempDir(), jscheck.Options{})
	require.ErrorIs(t, err, jscheck.ErrNoPackageJSON)
}

func TestParseTSC(t *testing.T) {
	t.Parallel()
	out := "src/a.ts(3,10): error TS2304: Cannot find name 'helper'.\n" +
		"src/a.ts(4,3): error TS2304: Cannot find name 'describe'.\n" +
		"/w/src/b.ts(1,22): error TS2307: Cannot find module 'left-pad' or its corresponding type declarations.\n" +
		"src/b.ts(9,1): error TS1005: ';' expected.\n" +
		"src/b.ts(10,5): error TS2322: Type 'number' is not assignable to type 'string'.\n" +
		"  Some detail line.\n" +
		"src/c.ts(2,7): error TS2339: Property 'foo' does not exist on type 'Bar'.\n" +
		"src/c.ts(1,1): error TS6133: 'x' is declared but its value is never read.\n"
	got := jscheck.ParseTSC("/w", out)
	require.Equal(t, []loc{
		{"src/a.ts", 3, check.CategoryUndefinedSymbol},
		{"src/a.ts", 4, check.CategoryMissingImport},
		{"src/b.ts", 1, check.CategoryMissingDependency},
		{"src/b.ts", 9, check.CategorySyntaxError},
		{"src/b.ts", 10, check.CategoryTypeError},
		{"src/c.ts", 2, check.CategoryUndefinedSymbol},
		{"src/c.ts", 1, check.CategoryUnusedVariable},
	}, locs(got))
	require.Equal(t, 10, got[0].Column)
	require.Contains(t, got[4].Message, "Some detail line.")
}

func TestParseResultsJSON(t *testing.T) {
	t.Parallel()
	// The Jest-compatible shape both jest --json and vitest's json reporter write.
	data := `{"testResults":[
	  {"name":"/w/test/a.test.ts","status":"failed","message":"","assertionResults":[
	    {"fullName":"a works","status":"passed","duration":1.5,"failureMessages":[]},
	    {"fullName":"a breaks","status":"failed","duration":2,"failureMessages":["AssertionError: expected 1 to be 2\n    at /w/test/a.test.ts:12:15\n    at run (/w/node_modules/x.js:1:1)"]},
	    {"fullName":"a later","status":"todo","failureMessages":[]},
	    {"fullName":"a located","status":"failed","failureMessages":["Error: boom"],"location":{"line":30,"column":3}}
	  ]},
	  {"name":"/w/test/b.test.ts","status":"failed","message":"Error: Failed to resolve import \"../src/x.js\" from \"test/b.test.ts\". Does the file exist?","assertionResults":[]}
	]}`
	tests, fs, err := jscheck.ParseResultsJSON("/w", []byte(data))
	require.NoError(t, err)
	require.Equal(t, 1, tests.Passed)
	require.Equal(t, 2, tests.Failed)
	require.Equal(t, 1, tests.Skipped)
	require.Equal(t, []loc{
		{"test/a.test.ts", 12, check.CategoryTestFailure},
		{"test/a.test.ts", 30, check.CategoryTestFailure},
		{"test/b.test.ts", 0, check.CategoryMissingImport},
	}, locs(fs))
	require.Equal(t, "a breaks: AssertionError: expected 1 to be 2\nat test/a.test.ts:12:15", fs[0].Message, "the project's frame, not node_modules'")

	_, _, err = jscheck.ParseResultsJSON("/w", []byte("not json"))
	require.Error(t, err)
}

func TestParseCoverageSummary(t *testing.T) {
	t.Parallel()
	data := `{"total":{"statements":{"total":10,"covered":7}},
	  "/w/src/a.ts":{"statements":{"total":6,"covered":6}},
	  "/w/src/b.ts":{"statements":{"total":4,"covered":1}}}`
	files, err := jscheck.ParseCoverageSummary("/w", []byte(data))
	require.NoError(t, err)
	require.Equal(t, []check.FileCoverage{
		{File: "src/a.ts", Covered: 6, Total: 6},
		{File: "src/b.ts", Covered: 1, Total: 4},
	}, files)
	cov := check.NewCoverage(files, func(f string) bool { return f == "src/b.ts" })
	require.InDelta(t, 25.0, cov.Percent, 0.001)
	require.InDelta(t, 70.0, cov.ProjectPercent, 0.001)
}

// A console.assert only prints under vitest, jest and node: the preset makes
// it fail the run, and names it.
func TestConsoleAssertFailsTheRun(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	appendTo(t, dir, "test/strings.test.ts", `
describe("weak", () => {
  it("asserts with console.assert", () => {
    console.assert(capitalize("a") === "b", "capitalize is wrong");
  });
});
`)
	rep, err := jscheck.Test(context.Background(), dir, jscheck.Options{Changed: []string{"test/strings.test.ts"}})
	require.NoError(t, err)
	require.False(t, rep.OK, rep.Log)
	require.Equal(t, 1, rep.Tests.Failed, "the preload makes the assertion throw inside the test")
	var cats []string
	for _, f := range rep.Findings {
		cats = append(cats, f.Category)
	}
	require.Contains(t, cats, jscheck.CategoryFailedAssertion)
	require.Contains(t, rep.Log, "capitalize is wrong")

	// A passing console.assert changes nothing.
	clean := sample(t)
	appendTo(t, clean, "test/strings.test.ts", `
describe("fine", () => {
  it("asserts truthfully", () => {
    console.assert(capitalize("a") === "A", "never printed");
  });
});
`)
	rep, err = jscheck.Test(context.Background(), clean, jscheck.Options{})
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
}

func readFile(dir, rel string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, rel)) }
