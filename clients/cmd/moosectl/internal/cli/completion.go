package cli

import (
	"io"

	"github.com/spf13/cobra"
)

func init() { register(newCompletionCommand) }

// newCompletionCommand replaces cobra's default completion command (turned
// off in NewRootCommand) with one built like every other group, so that an
// unknown shell is a usage error (exit 2) rather than help and success. The
// scripts themselves are cobra's: they call back into moosectl's hidden
// __complete command, so they keep up with new commands and flags without
// being regenerated.
func newCompletionCommand(a *App) *cobra.Command {
	cmd := groupCommand("completion", "Print a shell completion script (bash, zsh, fish, powershell)")
	cmd.Long = `Print a script that makes the shell complete moosectl's commands and flags.

  bash:        source <(moosectl completion bash)    # needs bash-completion 2
               moosectl completion bash > /etc/bash_completion.d/moosectl
  zsh:         moosectl completion zsh > "${fpath[1]}/_moosectl"   # then compinit
  fish:        moosectl completion fish > ~/.config/fish/completions/moosectl.fish
  powershell:  moosectl completion powershell | Out-String | Invoke-Expression`
	var noDesc bool
	cmd.PersistentFlags().BoolVar(&noDesc, "no-descriptions", false, "complete names only, without their descriptions")
	shells := []struct {
		name string
		gen  func(root *cobra.Command, w io.Writer, desc bool) error
	}{
		{"bash", func(root *cobra.Command, w io.Writer, desc bool) error { return root.GenBashCompletionV2(w, desc) }},
		{"zsh", func(root *cobra.Command, w io.Writer, desc bool) error {
			if desc {
				return root.GenZshCompletion(w)
			}
			return root.GenZshCompletionNoDesc(w)
		}},
		{"fish", func(root *cobra.Command, w io.Writer, desc bool) error { return root.GenFishCompletion(w, desc) }},
		{"powershell", func(root *cobra.Command, w io.Writer, desc bool) error {
			if desc {
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return root.GenPowerShellCompletion(w)
		}},
	}
	for _, sh := range shells {
		cmd.AddCommand(&cobra.Command{
			Use:   sh.name,
			Short: "Print the completion script for " + sh.name,
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return sh.gen(cmd.Root(), a.stdout, !noDesc)
			},
		})
	}
	return cmd
}
