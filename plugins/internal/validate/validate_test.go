package validate_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/sandbox"
	"github.com/moosehq/moose/plugins/internal/validate"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

func TestRunnerIsSandboxedUnlessTheOperatorOptsOut(t *testing.T) {
	if err := sandbox.Available(context.Background()); err != nil {
		t.Skipf("no sandbox here: %v", err)
	}
	r, err := validate.Runner(context.Background(), &pluginv1.ValidateRequest{})
	require.NoError(t, err)
	require.False(t, r.Unsandboxed)

	t.Setenv(validate.EnvUnsandboxed, "1")
	r, err = validate.Runner(context.Background(), &pluginv1.ValidateRequest{})
	require.NoError(t, err)
	require.True(t, r.Unsandboxed)
}

func TestLanguagePrefersThePreset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ lang, preset, want string }{
		{"go", "", check.LangGo}, {"typescript", "", check.LangNode}, {"typescript", "node", check.LangNode}, {"weird", "go", check.LangGo},
	} {
		got, err := validate.Language(&pluginv1.ValidateRequest{Project: &pluginv1.ProjectCommands{Language: tc.lang, Preset: tc.preset}})
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
	_, err := validate.Language(&pluginv1.ValidateRequest{Project: &pluginv1.ProjectCommands{Language: "cobol"}})
	require.Error(t, err)
}

func TestResponseCarriesVerdictTestsAndCoverage(t *testing.T) {
	t.Parallel()
	tests := &check.Tests{}
	tests.Add(check.TestCase{Name: "TestA", Status: check.TestPassed})
	tests.Add(check.TestCase{Name: "TestB", Status: check.TestFailed, Output: "want 2"})
	resp := validate.Response(check.Report{OK: false, Tests: tests, Coverage: &check.Coverage{Percent: 75, Covered: 3, Total: 4},
		Findings: []check.Finding{{File: "a.go", Line: 3, Category: check.CategoryTestFailure, Severity: check.SeverityError, Message: "TestB"}},
		Log:      "log"}, 0)
	require.False(t, resp.GetPassed())
	require.Equal(t, int32(2), resp.GetTests().GetTotal())
	require.Equal(t, int32(1), resp.GetTests().GetFailed())
	require.True(t, resp.GetCoverageMeasured())
	require.Equal(t, 75.0, resp.GetCoveragePercent())
	require.Equal(t, pluginv1.Severity_SEVERITY_ERROR, resp.GetFindings()[0].GetSeverity())
}
