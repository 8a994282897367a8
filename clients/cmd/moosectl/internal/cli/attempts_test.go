package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

var (
	failedAttempt = &moosev1.Attempt{
		Id: "0193e0c4-3333-7000-8000-000000000001", Execution: 1, Cycle: 1,
		VariantId: "0193e0c4-2222-7000-8000-000000000001", Model: "gpt-4o-mini",
		RawProposal:  "strutil/twice.go\n```go\npackage strutil\n\nfunc Twice(s string) string { return strings.Repeat(s, 2) }\n```\n",
		ChangedFiles: []string{"strutil/twice.go"},
		Findings: []*moosev1.AttemptFinding{
			{Source: "edit", Category: "no_match", Message: "search block not found\nin strutil/old.go"},
			{Source: "go-build", File: "strutil/twice.go", Line: 3, Column: 44, Category: "undefined_symbol", Severity: "error", Message: "undefined: strings"},
			{Source: "go-build", File: "strutil/a.go", Line: 1, Category: "syntax", Message: "a"},
			{Source: "go-build", File: "strutil/b.go", Category: "syntax", Message: "b"},
			{Source: "go-test", Category: "test_failure", Message: "TestTwice failed"},
			{Source: "go-test", Category: "test_failure", Message: "TestOther failed"},
		},
		Validations: []*moosev1.ValidatorReport{
			{Validator: "go-build", Log: "strutil/twice.go:3:44: undefined: strings"},
			{Validator: "go-test", TestsTotal: 4, TestsFailed: 2},
		},
		InputTokens: 700, OutputTokens: 120, CostUsd: 0.000177, FinishReason: "stop",
		Scored: true, OverallScore: 2.5, Gate: "the build failed", CreateTime: ts("2026-01-06T00:00:00Z"),
	}
	fixedAttempt = &moosev1.Attempt{
		Id: "0193e0c4-3333-7000-8000-000000000002", Execution: 1, Cycle: 2,
		VariantId: "0193e0c4-2222-7000-8000-000000000001", Model: "gpt-4o-mini",
		RawProposal:  "strutil/twice.go\n```go\npackage strutil\n\nimport \"strings\"\n```",
		ChangedFiles: []string{"strutil/twice.go"},
		Validations:  []*moosev1.ValidatorReport{{Validator: "go-build", Passed: true}, {Validator: "go-test", Passed: true, TestsTotal: 5}},
		BuildPassed:  true, TestsPassed: true, InputTokens: 1100, CacheReadInputTokens: 700, OutputTokens: 130, CostUsd: 0.000243,
		Scored: true, OverallScore: 8.7, ScorePassed: true, CreateTime: ts("2026-01-06T00:01:00Z"),
	}
	shadowAttempt = &moosev1.Attempt{
		Id: "0193e0c4-3333-7000-8000-000000000003", Execution: 1, Cycle: 1, Shadow: true,
		Model: "replay", Error: "proposer: connection refused", CreateTime: ts("2026-01-06T00:02:00Z"),
	}
)

func TestAttemptsTableGolden(t *testing.T) {
	t.Parallel()
	attempts := []*moosev1.Attempt{failedAttempt, fixedAttempt, shadowAttempt}
	golden(t, "attempts", func(w *bytes.Buffer) error { return writeAttempts(w, attempts, false) })
	golden(t, "attempts_proposals", func(w *bytes.Buffer) error { return writeAttempts(w, attempts, true) })
	golden(t, "attempts_empty", func(w *bytes.Buffer) error { return writeAttempts(w, nil, true) })
}

func TestFindingLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    *moosev1.AttemptFinding
		want string
	}{
		{&moosev1.AttemptFinding{Source: "go-build", File: "a.go", Line: 3, Column: 9, Category: "undefined_symbol", Message: "undefined: strings"},
			"go-build a.go:3:9 [undefined_symbol] undefined: strings"},
		{&moosev1.AttemptFinding{Source: "go-build", File: "a.go", Line: 3, Message: "x"}, "go-build a.go:3 x"},
		{&moosev1.AttemptFinding{Source: "edit", File: "a.go", Category: "no_match", Message: "two\nlines"}, "edit a.go [no_match] two lines"},
		{&moosev1.AttemptFinding{Source: "lint", Message: strings.Repeat("x", 300)}, "lint " + strings.Repeat("x", 159) + "…"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, findingLine(tt.f))
	}
}

func TestAttemptsNeedsOneID(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"--server", "127.0.0.1:1", "wo", "attempts"}, strings.NewReader(""), &out, &errOut)
	require.Equal(t, ExitUsage, code, errOut.String())
	require.Contains(t, errOut.String(), "needs 1 argument(s) (ID), got 0")
}
