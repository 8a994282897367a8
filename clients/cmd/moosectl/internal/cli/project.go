package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newProjectCommand) }

func newProjectCommand(a *App) *cobra.Command {
	cmd := groupCommand("project", "Register and inspect projects (target repositories)")
	cmd.AddCommand(newProjectCreateCommand(a), newProjectListCommand(a), newProjectGetCommand(a))
	return cmd
}

func newProjectCreateCommand(a *App) *cobra.Command {
	var req moosev1.CreateProjectRequest
	var buildTimeout, testTimeout time.Duration
	var minMutation float64
	cmd := &cobra.Command{
		Use:   "create --name NAME --repo URL --language LANG [flags]",
		Short: "Register a project",
		Long: `Register a project: a repository that work orders change, with the commands
that build and test it. Explicit --build/--test/--typecheck commands override
the preset; an empty --preset lets the server pick one from --language.
The server validates the request and names every invalid field.`,
		Example: `  moosectl project create --name strings --repo https://github.com/acme/strings \
    --language typescript --test "npm test"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("min-mutation-score") {
				req.MinMutationScore = &minMutation
			}
			if cmd.Flags().Changed("build-timeout") {
				req.BuildTimeout = durationpb.New(buildTimeout)
			}
			if cmd.Flags().Changed("test-timeout") {
				req.TestTimeout = durationpb.New(testTimeout)
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				p, err := c.CreateProject(ctx, &req)
				if err != nil {
					return err
				}
				return a.Render(p, func(w io.Writer) error { return output.Project(w, p) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "unique project name")
	f.StringVar(&req.RepoUrl, "repo", "", "git URL or local path of the repository")
	f.StringVar(&req.DefaultBranch, "branch", "main", "default branch work orders start from")
	f.StringVar(&req.Language, "language", "", `language: "go", "typescript", "javascript", ...`)
	f.StringVar(&req.Preset, "preset", "", `command preset ("go", "node"); empty: chosen from --language`)
	f.StringVar(&req.BuildCommand, "build", "", "build command (overrides the preset)")
	f.StringVar(&req.TestCommand, "test", "", "test command (overrides the preset)")
	f.StringVar(&req.TypecheckCommand, "typecheck", "", "typecheck command (overrides the preset)")
	f.Float64Var(&minMutation, "min-mutation-score", 0, "test-strength threshold, 0–1 (default: the server's, 0.6)")
	f.DurationVar(&buildTimeout, "build-timeout", 0, "time limit of each build command, 1s to 1h (default: the server's)")
	f.DurationVar(&testTimeout, "test-timeout", 0, "time limit of the test command, 1s to 1h (default: the server's)")
	return cmd
}

func newProjectListCommand(a *App) *cobra.Command {
	var pageSize int32
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every project, oldest first",
		Long: `List every project, oldest first, fetching as many pages as needed.
With -o json the output is one ListProjectsResponse object.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp := &moosev1.ListProjectsResponse{}
				for p, err := range c.AllProjects(ctx, pageSize) {
					if err != nil {
						return err
					}
					resp.Projects = append(resp.Projects, p)
				}
				return a.Render(resp, func(w io.Writer) error { return output.Projects(w, resp.GetProjects()) })
			})
		},
	}
	cmd.Flags().Int32Var(&pageSize, "page-size", 0, "projects per request (0: server default)")
	return cmd
}

func newProjectGetCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one project",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				p, err := c.GetProject(ctx, args[0])
				if err != nil {
					return err
				}
				return a.Render(p, func(w io.Writer) error { return output.Project(w, p) })
			})
		},
	}
}
