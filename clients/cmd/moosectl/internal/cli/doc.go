// Package cli is the moosectl command tree. main only calls Run; tests build
// the same tree with NewRootCommand (or call Run) and execute it against a
// real server.
//
// # Adding a command group
//
// One file per group (project.go, workorder.go; later plugin.go, variant.go,
// exp.go, spec.go). The file registers a constructor from init, so adding a
// group never means editing another group's file or root.go:
//
//	func init() { register(newPluginCommand) }
//
//	func newPluginCommand(a *App) *cobra.Command {
//		cmd := groupCommand("plugin", "Manage proposer and validator plugins")
//		cmd.AddCommand(&cobra.Command{
//			Use:   "list",
//			Short: "List registered plugins",
//			Args:  noArgs,
//			RunE: func(cmd *cobra.Command, _ []string) error {
//				return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
//					resp, err := moosev1.NewPluginServiceClient(c.Conn()).ListPlugins(ctx, &moosev1.ListPluginsRequest{})
//					if err != nil {
//						return fmt.Errorf("list plugins: %w", err)
//					}
//					return a.Render(resp, func(w io.Writer) error { ... output.NewTable(w, "ID", ...) ... })
//				})
//			},
//		})
//		return cmd
//	}
//
// The helpers that keep commands consistent:
//
//   - App.Call dials --server, applies --timeout and closes the connection.
//   - App.Render prints a proto message as JSON (-o json) or runs the table
//     function (-o table); the output package has the table writer and the
//     shared formatters (times, statuses, truncation).
//   - groupCommand, noArgs and exactArgs(n) make argument mistakes usage
//     errors (exit 2); usageErrorf does the same for checks of your own.
//   - Errors returned from RunE are printed by Run: gRPC status message and
//     code, field violations one per line, exit status 1.
//   - exitCode(n, msg) ends a command with a specific exit status (wo watch
//     uses it for failed/needs_review/cancelled).
//
// JSON conventions: a single object is printed as the message itself; a
// list is printed as its List…Response object (items plus next_page_token),
// also when --all gathered several pages; a stream (wo watch) is one compact
// object per line.
package cli
