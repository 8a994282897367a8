package cli_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	"github.com/moosehq/moose/server/version"
)

type result struct {
	code           int
	stdout, stderr string
}

// moosectl runs the real command tree in-process, as main would.
func moosectl(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	return moosectlCtx(t.Context(), stdin, args...)
}

func moosectlCtx(ctx context.Context, stdin io.Reader, args ...string) result {
	var out, errOut bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := cli.Run(ctx, args, stdin, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	t.Parallel()
	// No server is needed: each mistake is caught before dialing. The
	// address is one nobody listens on, so a call that did reach the network
	// would fail with exit status 1, not 2.
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown command", []string{"frob"}, `unknown command "frob" for "moosectl"`},
		{"suggestion", []string{"projetc"}, `did you mean "project"?`},
		{"unknown subcommand", []string{"wo", "frob"}, `unknown command "frob" for "moosectl wo"`},
		{"unknown flag", []string{"wo", "list", "--bogus"}, "unknown flag: --bogus"},
		{"bad flag value", []string{"wo", "create", "--complexity", "high"}, `invalid argument "high" for "--complexity"`},
		{"missing id", []string{"wo", "get"}, "needs 1 argument(s) (ID), got 0"},
		{"too many ids", []string{"wo", "approve", "a", "b"}, "got 2"},
		{"arguments to list", []string{"project", "list", "x"}, "takes no arguments"},
		{"bad output format", []string{"-o", "yaml", "project", "list"}, `unknown output format "yaml"`},
		{"bad status", []string{"wo", "list", "--status", "done"}, `--status: unknown work order status "done" (want one of pending, approved`},
		{"all and token", []string{"wo", "list", "--all", "--page-token", "x"}, "exclude each other"},
		{"bad metadata", []string{"wo", "create", "--metadata", "novalue"}, `--metadata "novalue": want KEY=VALUE`},
		{"bad file", []string{"wo", "create", "-f", "-"}, `<stdin>: invalid work order file: line 1: unknown field "titel"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--server", "127.0.0.1:1"}, tt.args...)
			r := moosectl(t, strings.NewReader("titel: typo\n"), args...)
			require.Equal(t, cli.ExitUsage, r.code, r.stderr)
			require.Contains(t, r.stderr, tt.stderr)
			require.Contains(t, r.stderr, "--help' for usage.")
			require.Empty(t, r.stdout)
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	r := moosectl(t, nil, "--server", "127.0.0.1:1", "project", "list")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(Unavailable)")
	require.Contains(t, r.stderr, "Is moosed running at 127.0.0.1:1?")
	require.NotContains(t, r.stderr, "rpc error:", "the gRPC framing is stripped")
}

func TestServerDefaultsFromEnvironment(t *testing.T) {
	// Not parallel: it sets an environment variable.
	t.Setenv(cli.EnvServer, "moose.internal:9999")
	root := cli.NewRootCommand(io.Discard, io.Discard)
	require.Equal(t, "moose.internal:9999", root.PersistentFlags().Lookup("server").DefValue)

	t.Setenv(cli.EnvServer, "")
	root = cli.NewRootCommand(io.Discard, io.Discard)
	require.Equal(t, "127.0.0.1:7400", root.PersistentFlags().Lookup("server").DefValue)
}

func TestHelpDocumentsWatchExitCodes(t *testing.T) {
	t.Parallel()
	r := moosectl(t, nil, "wo", "watch", "--help")
	require.Equal(t, cli.ExitOK, r.code)
	for _, line := range []string{"0  the work order completed", "3  the work order failed", "4  the work order needs review", "5  the work order was cancelled"} {
		require.Contains(t, r.stdout, line)
	}
}

func TestCommandTree(t *testing.T) {
	t.Parallel()
	root := cli.NewRootCommand(io.Discard, io.Discard)
	want := map[string][]string{
		"project": {"create", "get", "list"},
		"wo":      {"approve", "attempts", "cancel", "create", "events", "get", "list", "retry", "watch"},
	}
	for group, subs := range want {
		cmd, _, err := root.Find([]string{group})
		require.NoError(t, err)
		require.Equal(t, group, cmd.Name())
		var got []string
		for _, c := range cmd.Commands() {
			got = append(got, c.Name())
		}
		require.Equal(t, subs, got)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	// No server is needed, and none is dialled.
	for _, flag := range []string{"--version", "-v"} {
		r := moosectl(t, nil, "--server", "127.0.0.1:1", flag)
		require.Equal(t, cli.ExitOK, r.code, r.stderr)
		require.Equal(t, version.String("moosectl")+"\n", r.stdout)
		require.True(t, strings.HasPrefix(r.stdout, "moosectl "), r.stdout)
		require.Empty(t, r.stderr)
	}
}
