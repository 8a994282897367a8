package cli_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
)

func TestDatasetExportUsageErrors(t *testing.T) {
	t.Parallel()
	// Every mistake is caught before dialing: the address is one nobody
	// listens on, so a command that reached the network would exit 1, not 2.
	out := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"no kind", []string{"--out", out}, []string{`--kind: must be "sft" or "dpo", got ""`}},
		{"bad kind", []string{"--kind", "rlhf", "--out", out}, []string{`--kind: must be "sft" or "dpo", got "rlhf"`}},
		{"no out", []string{"--kind", "sft"}, []string{"--out: required"}},
		{"score too high", []string{"--kind", "sft", "--out", out, "--min-score", "11"}, []string{"--min-score: must be between 0 and 10, got 11"}},
		{"val of one", []string{"--kind", "dpo", "--out", out, "--val", "1"}, []string{"--val: must be at least 0 and below 1, got 1"}},
		{"negative val", []string{"--kind", "dpo", "--out", out, "--val", "-0.1"}, []string{"--val: must be at least 0 and below 1"}},
		{"negative limit", []string{"--kind", "dpo", "--out", out, "--limit", "-1"}, []string{"--limit: must not be negative"}},
		{"all at once", []string{"--kind", "x", "--min-score", "-1", "--val", "2"}, []string{"--kind:", "--out:", "--min-score:", "--val:"}},
		{"not a number", []string{"--kind", "sft", "--out", out, "--val", "tenth"}, []string{`invalid argument "tenth" for "--val"`}},
		{"arguments", []string{"--kind", "sft", "--out", out, "extra"}, []string{"takes no arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := moosectl(t, nil, append([]string{"--server", "127.0.0.1:1", "dataset", "export"}, tt.args...)...)
			require.Equal(t, cli.ExitUsage, r.code, r.stderr)
			for _, s := range tt.stderr {
				require.Contains(t, r.stderr, s)
			}
		})
	}

	// Valid flags get past validation and fail only at the network.
	r := moosectl(t, nil, "--server", "127.0.0.1:1", "--timeout", "2s", "dataset", "export", "--kind", "sft", "--out", out, "--min-score", "0", "--val", "0")
	require.Equal(t, cli.ExitError, r.code, r.stderr)
}
