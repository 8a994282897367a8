package custom_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/custom"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

func TestParseLocationsKeepsOnlyFilesOfTheWorktree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pkg"), 0o755))
	for _, f := range []string{"pkg/app.py", "main.rs", "src/x.ts"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644))
	}
	out := "pkg/app.py:12: error: Name \"foo\" is not defined  [name-defined]\n" +
		"main.rs:3:5: error[E0425]: cannot find value `y`\n" +
		"src/x.ts(7,3): error TS2304: Cannot find name 'z'.\n" +
		"/usr/lib/python3/site.py:1: not ours\n" +
		"missing.go:1:1: no such file\n" +
		"pkg/app.py:12: error: Name \"foo\" is not defined  [name-defined]\n" +
		"main.rs: 9: Syntax error: end of file unexpected\n" +
		"main.rs: line 10: unexpected token\n"
	fs := custom.ParseLocations(dir, out, check.CategoryBuildError)
	require.Len(t, fs, 5, "%+v", fs)
	require.Equal(t, 9, fs[3].Line, "dash's format")
	require.Equal(t, "Syntax error: end of file unexpected", fs[3].Message)
	require.Equal(t, 10, fs[4].Line, "bash's format")
	require.Equal(t, check.Finding{File: "pkg/app.py", Line: 12, Category: check.CategoryBuildError, Severity: check.SeverityError,
		Message: `error: Name "foo" is not defined  [name-defined]`}, fs[0])
	require.Equal(t, "main.rs", fs[1].File)
	require.Equal(t, 5, fs[1].Column)
	require.Equal(t, "src/x.ts", fs[2].File)
	require.Equal(t, 7, fs[2].Line)
}

func TestParseSummaryReadsCommonRunners(t *testing.T) {
	t.Parallel()
	for out, want := range map[string]*check.Tests{
		"===== 3 passed, 1 failed, 2 skipped in 0.12s =====": {Passed: 3, Failed: 1, Skipped: 2},
		"Tests:       1 failed, 4 passed, 5 total":           {Passed: 4, Failed: 1},
		"test result: ok. 7 passed; 0 failed; 0 ignored":     {Passed: 7, Failed: 0},
		"  12 passing (30ms)\n  2 pending":                   {Passed: 12, Skipped: 2},
		"nothing that looks like a summary":                  nil,
	} {
		require.Equal(t, want, custom.ParseSummary(out), out)
	}
}

func TestRunUsesTheProjectsCommandInTheSandbox(t *testing.T) {
	if err := sandbox.Available(context.Background()); err != nil {
		t.Skipf("no sandbox: %v", err)
	}
	// Not parallel: it sets a variable in the test process's environment.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.py"), []byte("print(1)\n"), 0o644))
	runner := check.Runner{Timeout: 30 * time.Second}

	rep, err := custom.Run(context.Background(), runner, custom.BaseSpec(dir), `echo "app.py:1: error: bad thing" >&2; exit 3`, check.CategoryBuildError)
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Len(t, rep.Findings, 1)
	require.Equal(t, "app.py", rep.Findings[0].File)
	require.Contains(t, rep.Log, "bad thing")

	rep, err = custom.Run(context.Background(), runner, custom.BaseSpec(dir), `echo "5 passed, 1 skipped"; test -f app.py`, check.CategoryTestFailure)
	require.NoError(t, err)
	require.True(t, rep.OK)
	require.Equal(t, &check.Tests{Passed: 5, Skipped: 1}, rep.Tests)

	t.Setenv("MOOSE_CUSTOM_SECRET", "s3cret")
	rep, err = custom.Run(context.Background(), runner, custom.BaseSpec(dir), `env; exit 1`, check.CategoryBuildError)
	require.NoError(t, err)
	require.NotContains(t, rep.Log, "s3cret", "the project's command sees no secrets either")
}
