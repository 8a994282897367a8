package gocheck_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// sample copies examples/go-calc into a fresh worktree.
func sample(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap not installed")
	}
	require.NoError(t, sandbox.Available(context.Background()))
	dir := filepath.Join(t.TempDir(), "go-calc")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../../../examples/go-calc")))
	return dir
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644))
}

func appendTo(t *testing.T, dir, rel, content string) int {
	t.Helper()
	old, err := os.ReadFile(filepath.Join(dir, rel))
	require.NoError(t, err)
	write(t, dir, rel, string(old)+content)
	// The line number of content's first line.
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
	opts := gocheck.Options{Changed: []string{"strutil/strutil.go"}}

	rep, err := gocheck.Build(ctx, dir, opts)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
	require.Empty(t, rep.Findings)
	require.False(t, rep.TestsChanged)

	rep, err = gocheck.Test(ctx, dir, opts)
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
	require.Empty(t, rep.Findings)
	require.NotNil(t, rep.Tests)
	require.Zero(t, rep.Tests.Failed)
	require.GreaterOrEqual(t, rep.Tests.Passed, 6)
	require.NotNil(t, rep.Coverage)
	// Only strutil was touched, and its tests cover all of it.
	require.InDelta(t, 100.0, rep.Coverage.Percent, 0.001)
	for _, f := range rep.Coverage.Files {
		require.True(t, strings.HasPrefix(f.File, "strutil/"), f.File)
	}
	require.Less(t, rep.Coverage.ProjectPercent, 100.0)
	require.Contains(t, rep.Log, "PASS")
}

func TestBuildReportsInjectedErrors(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	// strutil.go imports only "strings"; add an unused import and code that uses a package
	// that is not imported and a symbol that does not exist.
	src, err := os.ReadFile(filepath.Join(dir, "strutil/strutil.go"))
	require.NoError(t, err)
	fixed := strings.Replace(string(src), `import "strings"`, "import (\n\t\"os\"\n\t\"strings\"\n)", 1)
	write(t, dir, "strutil/strutil.go", fixed)
	line := appendTo(t, dir, "strutil/strutil.go", "\nfunc Shout(s string) string {\n\treturn strings.ToUpper(s) + strconv.Itoa(len(s)) + bang\n}\n")

	rep, err := gocheck.Build(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.ElementsMatch(t, []loc{
		{"strutil/strutil.go", 5, check.CategoryUnusedImport},
		{"strutil/strutil.go", line + 2, check.CategoryMissingImport},
		{"strutil/strutil.go", line + 2, check.CategoryUndefinedSymbol},
	}, locs(rep.Findings))
	for _, f := range rep.Findings {
		require.NotZero(t, f.Column)
		require.Equal(t, check.SeverityError, f.Severity)
	}
	require.Contains(t, rep.Log, "undefined: strconv")
}

func TestBuildReportsSyntaxError(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	line := appendTo(t, dir, "calc/calc.go", "\nfunc broken() {\n\tx := (1 +\n}\n")
	rep, err := gocheck.Build(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.NotEmpty(t, rep.Findings)
	require.Equal(t, "calc/calc.go", rep.Findings[0].File)
	require.Equal(t, check.CategorySyntaxError, rep.Findings[0].Category)
	require.InDelta(t, line+2, rep.Findings[0].Line, 1)
}

func TestBuildReportsVet(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	src, err := os.ReadFile(filepath.Join(dir, "strutil/strutil.go"))
	require.NoError(t, err)
	write(t, dir, "strutil/strutil.go", strings.Replace(string(src), `import "strings"`, "import (\n\t\"fmt\"\n\t\"strings\"\n)", 1))
	line := appendTo(t, dir, "strutil/strutil.go", "\nfunc Describe(s string) string {\n\treturn fmt.Sprintf(\"%d\", s)\n}\n")
	rep, err := gocheck.Build(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, []loc{{"strutil/strutil.go", line + 2, check.CategoryVet}}, locs(rep.Findings))
}

func TestTestReportsFailingTest(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	line := appendTo(t, dir, "strutil/strutil_test.go",
		"\nfunc TestBroken(t *testing.T) {\n\tif strutil.Reverse(\"ab\") != \"ab\" {\n\t\tt.Errorf(\"Reverse mismatch\")\n\t}\n}\n")
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Changed: []string{"strutil/strutil_test.go"}})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.True(t, rep.TestsChanged)
	require.Equal(t, 1, rep.Tests.Failed)
	require.GreaterOrEqual(t, rep.Tests.Passed, 6)
	require.Equal(t, []loc{{"strutil/strutil_test.go", line + 3, check.CategoryTestFailure}}, locs(rep.Findings))
	require.Contains(t, rep.Findings[0].Message, "TestBroken: Reverse mismatch")
	var failed []check.TestCase
	for _, c := range rep.Tests.Cases {
		if c.Status == check.TestFailed {
			failed = append(failed, c)
		}
	}
	require.Len(t, failed, 1)
	require.Equal(t, "example.com/gocalc/strutil", failed[0].Package)
	require.Equal(t, "TestBroken", failed[0].Name)
	require.Contains(t, failed[0].Output, "Reverse mismatch")
	// Coverage still comes back for the packages that passed.
	require.NotNil(t, rep.Coverage)
}

func TestTestReportsTestBuildFailure(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	line := appendTo(t, dir, "calc/calc_test.go", "\nfunc TestNew(t *testing.T) {\n\t_ = calc.Missing(1)\n}\n")
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, locs(rep.Findings), loc{"calc/calc_test.go", line + 2, check.CategoryUndefinedSymbol})
	// The other package's tests still ran.
	require.Positive(t, rep.Tests.Passed)
}

func TestTestReportsStubPanic(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	appendTo(t, dir, "strutil/strutil.go", "\n// Title is a stub.\nfunc Title(s string) string {\n\tpanic(\"not implemented\")\n}\n")
	line := appendTo(t, dir, "strutil/strutil_test.go", "\nfunc TestTitle(t *testing.T) {\n\tif strutil.Title(\"a\") != \"A\" {\n\t\tt.Fatal(\"bad\")\n\t}\n}\n")
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, 1, rep.Tests.Failed)
	require.Len(t, rep.Findings, 1)
	require.Equal(t, check.CategoryTestFailure, rep.Findings[0].Category)
	require.Contains(t, rep.Findings[0].Message, "TestTitle")
	require.Contains(t, rep.Findings[0].Message, "panicked")
	_ = line
}

func TestParseCompilerOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		out      string
		fallback string
		want     []check.Finding
	}{
		{
			name: "build errors with continuation",
			out: "# example.com/m/p\n" +
				"p/a.go:3:2: \"fmt\" imported and not used\n" +
				"p/a.go:7:9: undefined: strings\n" +
				"p/a.go:8:9: undefined: helper\n" +
				"p/a.go:9:12: cannot use x (variable of type int) as string value in return statement\n" +
				"p/a.go:10:2: too many return values\n\thave (int, error)\n\twant (int)\n" +
				"p/b.go:4:1: syntax error: non-declaration statement outside function body\n" +
				"p/a.go:11:5: declared and not used: y\n" +
				"p/a.go:12:4: v.Foo undefined (type T has no field or method Foo)\n",
			fallback: check.CategoryTypeError,
			want: []check.Finding{
				{File: "p/a.go", Line: 3, Column: 2, Category: check.CategoryUnusedImport, Severity: "error", Message: `"fmt" imported and not used`},
				{File: "p/a.go", Line: 7, Column: 9, Category: check.CategoryMissingImport, Severity: "error", Message: "undefined: strings"},
				{File: "p/a.go", Line: 8, Column: 9, Category: check.CategoryUndefinedSymbol, Severity: "error", Message: "undefined: helper"},
				{File: "p/a.go", Line: 9, Column: 12, Category: check.CategoryTypeError, Severity: "error", Message: "cannot use x (variable of type int) as string value in return statement"},
				{File: "p/a.go", Line: 10, Column: 2, Category: check.CategoryTypeError, Severity: "error", Message: "too many return values\nhave (int, error)\nwant (int)"},
				{File: "p/b.go", Line: 4, Column: 1, Category: check.CategorySyntaxError, Severity: "error", Message: "syntax error: non-declaration statement outside function body"},
				{File: "p/a.go", Line: 11, Column: 5, Category: check.CategoryUnusedVariable, Severity: "error", Message: "declared and not used: y"},
				{File: "p/a.go", Line: 12, Column: 4, Category: check.CategoryUndefinedSymbol, Severity: "error", Message: "v.Foo undefined (type T has no field or method Foo)"},
			},
		},
		{
			name: "vet with loader error and absolute path",
			out: "# example.com/m/p\n# [example.com/m/p]\n" +
				"vet: /work/tree/p/a_test.go:5:3: undefined: nope\n" +
				"/work/tree/p/a.go:9:2: fmt.Printf format %d has arg s of wrong type string\n",
			fallback: check.CategoryVet,
			want: []check.Finding{
				{File: "p/a_test.go", Line: 5, Column: 3, Category: check.CategoryUndefinedSymbol, Severity: "error", Message: "undefined: nope"},
				{File: "p/a.go", Line: 9, Column: 2, Category: check.CategoryVet, Severity: "error", Message: "fmt.Printf format %d has arg s of wrong type string"},
			},
		},
		{
			name:     "vet analyzer report inside go test build output",
			out:      "p/a.go:9:2: fmt.Printf format %d has arg s of wrong type string\n",
			fallback: check.CategoryTypeError,
			want: []check.Finding{
				{File: "p/a.go", Line: 9, Column: 2, Category: check.CategoryVet, Severity: "error", Message: "fmt.Printf format %d has arg s of wrong type string"},
			},
		},
		{
			name:     "missing module",
			out:      "p/a.go:3:8: no required module provides package github.com/x/y; to add it:\n\tgo get github.com/x/y\n",
			fallback: check.CategoryTypeError,
			want: []check.Finding{
				{File: "p/a.go", Line: 3, Column: 8, Category: check.CategoryMissingDependency, Severity: "error", Message: "no required module provides package github.com/x/y; to add it:\ngo get github.com/x/y"},
			},
		},
		{
			name:     "duplicates dropped",
			out:      "p/a.go:1:1: undefined: x\np/a.go:1:1: undefined: x\n",
			fallback: check.CategoryTypeError,
			want: []check.Finding{
				{File: "p/a.go", Line: 1, Column: 1, Category: check.CategoryUndefinedSymbol, Severity: "error", Message: "undefined: x"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, gocheck.ParseCompilerOutput("/work/tree", tt.out, tt.fallback))
		})
	}
}

func TestParseCoverProfile(t *testing.T) {
	t.Parallel()
	profile := "mode: set\n" +
		"example.com/m/p/a.go:3.10,5.2 2 1\n" +
		"example.com/m/p/a.go:6.10,8.2 3 0\n" +
		"example.com/m/p/a.go:6.10,8.2 3 1\n" + // listed twice (-coverpkg): covered once is covered
		"example.com/m/p/a.go:9.10,10.2 1 0\n" +
		"example.com/m/main.go:3.13,5.2 4 0\n"
	files, err := gocheck.ParseCoverProfile(profile, "example.com/m")
	require.NoError(t, err)
	require.Equal(t, []check.FileCoverage{
		{File: "main.go", Covered: 0, Total: 4},
		{File: "p/a.go", Covered: 5, Total: 6},
	}, files)

	_, err = gocheck.ParseCoverProfile("mode: set\ngarbage\n", "example.com/m")
	require.Error(t, err)
}

func TestParseTestJSON(t *testing.T) {
	t.Parallel()
	stream := strings.Join([]string{
		`{"Action":"start","Package":"example.com/m/p"}`,
		`{"Action":"run","Package":"example.com/m/p","Test":"TestA"}`,
		`{"Action":"output","Package":"example.com/m/p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"pass","Package":"example.com/m/p","Test":"TestA","Elapsed":0.01}`,
		`{"Action":"run","Package":"example.com/m/p","Test":"TestT"}`,
		`{"Action":"run","Package":"example.com/m/p","Test":"TestT/sub"}`,
		`{"Action":"output","Package":"example.com/m/p","Test":"TestT/sub","Output":"    a_test.go:17: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"example.com/m/p","Test":"TestT/sub","Elapsed":0}`,
		`{"Action":"fail","Package":"example.com/m/p","Test":"TestT","Elapsed":0}`,
		`{"Action":"skip","Package":"example.com/m/p","Test":"TestS","Elapsed":0}`,
		`{"Action":"fail","Package":"example.com/m/p","Elapsed":0.2}`,
		`not json: a truncation marker`,
		`{"Action":"output","Package":"example.com/m/q","Output":"panic: boom in init\n"}`,
		`{"Action":"fail","Package":"example.com/m/q","Elapsed":0.1}`,
	}, "\n")
	tests, findings := gocheck.ParseTestJSON("/w", stream, "example.com/m")
	require.Equal(t, 1, tests.Passed)
	require.Equal(t, 2, tests.Failed)
	require.Equal(t, 1, tests.Skipped)
	require.Equal(t, []loc{
		{"p/a_test.go", 17, check.CategoryTestFailure},
		{"q", 0, check.CategoryTestFailure},
	}, locs(findings))
	require.Equal(t, "TestT/sub: got 1, want 2", findings[0].Message)
	require.Contains(t, findings[1].Message, "panic: boom in init")
}

func TestTestRepeatsInOneRun(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "flaky"), 0o755))
	write(t, dir, "flaky/flaky_test.go", "package flaky\n\nimport (\n\t\"os\"\n\t\"strconv\"\n\t\"testing\"\n)\n\n"+
		"func TestSometimes(t *testing.T) {\n\tb, _ := os.ReadFile(\".runs\")\n\tn, _ := strconv.Atoi(string(b))\n\t_ = os.WriteFile(\".runs\", []byte(strconv.Itoa(n+1)), 0o644)\n\tif n%2 == 1 {\n\t\tt.Fatal(\"unlucky run\")\n\t}\n}\n")
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Repeats: 3})
	require.NoError(t, err)
	require.Equal(t, 3, rep.Repeats)
	var got []check.TestStatus
	for _, c := range rep.Tests.Cases {
		if c.Name == "TestSometimes" {
			got = append(got, c.Status)
		}
	}
	require.Equal(t, []check.TestStatus{check.TestPassed, check.TestFailed, check.TestPassed}, got, "one entry per repetition, in order")
}

func TestTestRerunsOnlyWhatTheChangeCanAffect(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	run := func() string {
		rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
		require.NoError(t, err)
		require.True(t, rep.OK, rep.Log)
		return rep.Log
	}
	run()
	// A change to strutil only (a test of its own, named uniquely so that no
	// earlier run can have cached it): calc's tests come from Go's test
	// cache, strutil's run again.
	name := "TestRevision" + strconv.FormatInt(time.Now().UnixNano(), 10)
	write(t, dir, "strutil/revision_test.go", "package strutil\n\nimport \"testing\"\n\nfunc "+name+"(t *testing.T) {}\n")
	log := run()
	require.Regexp(t, `ok\s+example.com/gocalc/calc\s+\(cached\)`, log)
	require.Regexp(t, `ok\s+example.com/gocalc/strutil\s+\d`, log)
}

// Every tree is mounted at the same path in the sandbox, so two workspaces of
// a project at the same content share compiled packages and test results,
// whatever their paths on the host.
func TestTestResultsAreSharedAcrossTrees(t *testing.T) {
	t.Parallel()
	a := sample(t)
	// A test of its own, so that no other run can have cached this tree.
	name := "TestTree" + strconv.FormatInt(time.Now().UnixNano(), 10)
	write(t, a, "strutil/tree_test.go", "package strutil\n\nimport \"testing\"\n\nfunc "+name+"(t *testing.T) {}\n")
	b := filepath.Join(t.TempDir(), "elsewhere")
	require.NoError(t, os.CopyFS(b, os.DirFS(a)))
	for i, dir := range []string{a, b} {
		rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
		require.NoError(t, err)
		require.True(t, rep.OK, rep.Log)
		if i == 0 {
			require.Regexp(t, `ok\s+example.com/gocalc/strutil\s+\d`, rep.Log)
		} else {
			require.Regexp(t, `ok\s+example.com/gocalc/strutil\s+\(cached\)`, rep.Log)
		}
	}
}

// A project's tests may find their files through runtime.Caller; the fixed
// mount keeps those paths real inside the sandbox.
func TestCallerPathsStayReal(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	write(t, dir, "strutil/caller_test.go", `package strutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestFindsItsOwnSource(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	if _, err := os.Stat(filepath.Join(filepath.Dir(file), "strutil.go")); err != nil {
		t.Fatal(err)
	}
}
`)
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Log)
}

func TestTestTimeoutsKeepBuildingApart(t *testing.T) {
	goTimeout, wall := gocheck.TestTimeouts(10*time.Second, 5*time.Minute)
	require.Equal(t, 10*time.Second, goTimeout, "the tests get the whole test limit")
	require.Equal(t, 10*time.Second+5*time.Minute, wall, "compiling them gets the build limit on top")
	goTimeout, wall = gocheck.TestTimeouts(10*time.Second, 0)
	require.Equal(t, 8*time.Second, goTimeout, "without a build limit the two share the test limit")
	require.Equal(t, 10*time.Second, wall)
	goTimeout, wall = gocheck.TestTimeouts(0, time.Minute)
	require.Zero(t, goTimeout)
	require.Zero(t, wall)
}

// A test limit shorter than compiling the tests from a cold cache still ends
// with the hung test named: Go's alarm bounds the tests, the build limit
// bounds compiling them.
func TestHungTestIsNamedWhenBuildingTakesLongerThanTheTestLimit(t *testing.T) {
	t.Parallel()
	dir := sample(t)
	write(t, dir, "strutil/hang_test.go", "package strutil\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestHang(t *testing.T) {\n\ttime.Sleep(time.Hour)\n}\n")
	o := gocheck.Options{GoCache: t.TempDir(), Runner: check.Runner{Timeout: 2 * time.Second, CompileTimeout: 5 * time.Minute}}
	began := time.Now()
	rep, err := gocheck.Test(context.Background(), dir, o)
	require.NoError(t, err)
	require.False(t, rep.OK)
	var msgs []string
	for _, f := range rep.Findings {
		if f.Category == check.CategoryTimeout {
			msgs = append(msgs, f.Message)
		}
	}
	require.Len(t, msgs, 1, rep.Findings)
	require.Contains(t, msgs[0], "TestHang timed out after 2s")
	require.Less(t, time.Since(began), 5*time.Minute, "the hour-long sleep was stopped")
}
