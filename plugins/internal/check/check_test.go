package check_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

func TestIsTestFile(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"calc/calc_test.go":       true,
		"calc/calc.go":            false,
		"src/a.test.ts":           true,
		"src/a.spec.js":           true,
		"src/__tests__/a.ts":      true,
		"test/strings.ts":         true,
		"tests/data/fixture.json": false,
		"src/testing.ts":          false,
		"test_app.py":             true,
		"README.md":               false,
	} {
		require.Equal(t, want, check.IsTestFile(p), p)
	}
	require.True(t, check.TouchesTests([]string{"a.go", "a_test.go"}))
	require.False(t, check.TouchesTests([]string{"a.go"}))
}

func TestTrimLog(t *testing.T) {
	t.Parallel()
	require.Equal(t, "short", check.TrimLog("short", 10))
	long := strings.Repeat("a", 50) + strings.Repeat("b", 50)
	got := check.TrimLog(long, 20)
	require.True(t, strings.HasPrefix(got, strings.Repeat("a", 10)))
	require.True(t, strings.HasSuffix(got, strings.Repeat("b", 10)))
	require.Contains(t, got, "[80 bytes trimmed]")
}

func TestNewCoverage(t *testing.T) {
	t.Parallel()
	files := []check.FileCoverage{
		{File: "b/x.go", Covered: 1, Total: 4},
		{File: "a/y.go", Covered: 3, Total: 4},
	}
	c := check.NewCoverage(files, func(f string) bool { return strings.HasPrefix(f, "b/") })
	require.InDelta(t, 25.0, c.Percent, 0.001)
	require.InDelta(t, 50.0, c.ProjectPercent, 0.001)
	require.Equal(t, []check.FileCoverage{{File: "b/x.go", Covered: 1, Total: 4}}, c.Files)

	// Nothing touched that was measured: the scope is the whole project.
	c = check.NewCoverage(files, func(string) bool { return false })
	require.InDelta(t, 50.0, c.Percent, 0.001)
	require.Equal(t, "a/y.go", c.Files[0].File)
	require.InDelta(t, 0.0, check.FileCoverage{}.Percent(), 0)
}

func TestNormalizeLang(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Go": check.LangGo, "golang": check.LangGo, "typescript": check.LangNode, "js": check.LangNode} {
		got, err := check.NormalizeLang(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := check.NormalizeLang("cobol")
	require.ErrorIs(t, err, check.ErrUnknownLanguage)
}

func TestRunnerMergesSpecAndRecordsResult(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("bwrap not installed")
	}
	ro := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ro, "data"), []byte("shared"), 0o644))
	r := check.Runner{
		Timeout:  time.Second,
		ReadOnly: []string{ro},
		Env:      map[string]string{"A": "runner", "B": "runner"},
	}
	res, err := r.Run(context.Background(), sandbox.Spec{
		Dir:  t.TempDir(),
		Args: []string{"sh", "-c", `echo "$A $B"; cat ` + filepath.Join(ro, "data") + `; sleep 30`},
		Env:  map[string]string{"B": "spec"},
	})
	require.NoError(t, err)
	require.True(t, res.TimedOut)
	require.Contains(t, res.Stdout, "runner spec")
	require.Contains(t, res.Stdout, "shared")

	var rep check.Report
	rep.ApplyResult(res)
	require.True(t, rep.TimedOut)
	require.Equal(t, check.CategoryTimeout, rep.Findings[0].Category)
	require.Contains(t, rep.Log, "runner spec")

	_, err = r.Run(context.Background(), sandbox.Spec{Args: []string{"true"}})
	require.ErrorIs(t, err, sandbox.ErrInvalidSpec)
}

func TestInstallDepsGo(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not installed")
	}
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../../examples/go-calc")))
	require.NoError(t, check.InstallDeps(context.Background(), dir, "go"))

	require.Error(t, check.InstallDeps(context.Background(), t.TempDir(), "go"))
	require.ErrorIs(t, check.InstallDeps(context.Background(), dir, "cobol"), check.ErrUnknownLanguage)

	// A requirement that cannot be resolved fails with go's message.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"),
		[]byte("module example.com/x\n\ngo 1.22\n\nrequire example.invalid/nope v1.0.0\n"), 0o644))
	err := check.InstallDeps(context.Background(), dir, "go")
	require.Error(t, err)
	require.Contains(t, err.Error(), "example.invalid/nope")
}
