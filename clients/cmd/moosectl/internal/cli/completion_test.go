package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
)

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			r := moosectl(t, nil, "--server", "127.0.0.1:1", "completion", shell)
			require.Equal(t, cli.ExitOK, r.code, r.stderr)
			require.Empty(t, r.stderr)
			require.Greater(t, len(r.stdout), 500, "a whole script:\n%s", r.stdout)
			require.Contains(t, r.stdout, "moosectl")
			// The scripts complete by asking moosectl itself.
			require.Contains(t, r.stdout, "__complete")
			if shell != "bash" {
				return
			}
			bash, err := exec.LookPath("bash")
			if err != nil {
				t.Skip("no bash to check the script's syntax with")
			}
			script := filepath.Join(t.TempDir(), "moosectl.bash")
			require.NoError(t, os.WriteFile(script, []byte(r.stdout), 0o600))
			out, err := exec.Command(bash, "-n", script).CombinedOutput()
			require.NoError(t, err, "bash -n: %s", out)
		})
	}

	// What the scripts call back into: the candidates for "moosectl wo cr<TAB>".
	r := moosectl(t, nil, "__complete", "wo", "cr")
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	require.Contains(t, strings.Split(r.stdout, "\n"), "create\tCreate a pending work order from flags or a YAML file")

	r = moosectl(t, nil, "completion", "ksh")
	require.Equal(t, cli.ExitUsage, r.code, "an unknown shell is a usage error")
	require.Contains(t, r.stderr, `unknown command "ksh" for "moosectl completion"`)
}
