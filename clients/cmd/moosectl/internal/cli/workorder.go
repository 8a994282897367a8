package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/cmd/moosectl/internal/wofile"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"google.golang.org/protobuf/proto"
)

// Exit statuses of wo watch for work orders that ended other than completed.
const (
	ExitFailed      = 3
	ExitNeedsReview = 4
	ExitCancelled   = 5
)

func init() { register(newWorkOrderCommand) }

func newWorkOrderCommand(a *App) *cobra.Command {
	cmd := groupCommand("wo", "Create, inspect and follow work orders")
	cmd.Aliases = []string{"workorder", "workorders"}
	cmd.AddCommand(
		newWOCreateCommand(a),
		newWOListCommand(a),
		newWOGetCommand(a),
		newWOTransitionCommand(a, "approve", "Approve a pending work order so it gets scheduled",
			func(ctx context.Context, c *moose.Client, id, _ string) (*moosev1.WorkOrder, error) {
				return c.ApproveWorkOrder(ctx, id)
			}),
		newWOTransitionCommand(a, "cancel", "Cancel a work order that has not reached a terminal state",
			func(ctx context.Context, c *moose.Client, id, reason string) (*moosev1.WorkOrder, error) {
				return c.CancelWorkOrder(ctx, id, reason)
			}),
		newWOTransitionCommand(a, "retry", "Send a failed or needs_review work order back to approved",
			func(ctx context.Context, c *moose.Client, id, _ string) (*moosev1.WorkOrder, error) {
				return c.RetryWorkOrder(ctx, id)
			}),
		newWOEventsCommand(a),
		newWOAttemptsCommand(a),
		newWOWatchCommand(a),
	)
	return cmd
}

func newWOCreateCommand(a *App) *cobra.Command {
	var (
		file            string
		flagReq         moosev1.CreateWorkOrderRequest
		metadata        []string
		noTestsRequired bool
		buildTimeout    time.Duration
		testTimeout     time.Duration
		hiddenTests     []string
		hiddenPatch     string
	)
	cmd := &cobra.Command{
		Use:   "create (--project ID --title TITLE ... | -f workorder.yaml) [flags]",
		Short: "Create a pending work order from flags or a YAML file",
		Long: `Create a pending work order, from flags, from a YAML file (-f, "-" for
stdin), or both: flags given explicitly override the file's fields
(--criteria replaces the file's list, --metadata adds or replaces keys).

A work-order file has these fields (unknown fields are an error):

  project_id: 0193e0c4-...
  title: Add a --json flag to the report command
  description: |
    The report command prints a table; scripts need JSON.
  acceptance_criteria:
    - report --json prints one valid JSON document
    - the table output is unchanged
  complexity: 3            # 1 (trivial) to 10 (hard)
  request_id: report-json  # idempotency key: repeating it returns the same work order
  metadata:
    ticket: MOO-12
  tests_required: false    # optional: by default a change to source code
                           # must add or change a test to pass
  build_timeout: 2m        # optional time limits (1s to 1h); absent: the
  test_timeout: 90s        # project's, else the server's (5m each)

Without a request id, one is generated for this invocation.

--variant pins the work order to a variant (id or name): it bypasses routing
and experiments, as suite runs do, to compare variants on the same task.`,
		Example: `  moosectl wo create --project $PID --title "Add --json" --description "..." \
    --criteria "prints valid JSON" --criteria "table unchanged" --complexity 3
  moosectl wo create -f workorder.yaml --complexity 5
  moosectl wo create -f workorder.yaml --variant sonnet-v2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := &moosev1.CreateWorkOrderRequest{}
			if file != "" {
				var err error
				if req, err = wofile.Load(file, cmd.InOrStdin()); err != nil {
					if errors.Is(err, wofile.ErrInvalid) {
						return usageError{err}
					}
					return err
				}
			}
			if err := overrideWorkOrder(cmd, req, &flagReq, metadata); err != nil {
				return err
			}
			if cmd.Flags().Changed("no-tests-required") {
				req.TestsRequired = proto.Bool(!noTestsRequired)
			}
			if cmd.Flags().Changed("build-timeout") {
				req.BuildTimeout = durationpb.New(buildTimeout)
			}
			for _, spec := range hiddenTests {
				repoPath, local, ok := strings.Cut(spec, "=")
				if !ok || repoPath == "" || local == "" {
					return usageErrorf("--acceptance-test %q: want REPO_PATH=LOCAL_FILE", spec)
				}
				data, err := os.ReadFile(local)
				if err != nil {
					return usageErrorf("--acceptance-test: %v", err)
				}
				req.AcceptanceTests = append(req.AcceptanceTests, &moosev1.AcceptanceTestFile{Path: repoPath, Content: string(data)})
			}
			if hiddenPatch != "" {
				data, err := os.ReadFile(hiddenPatch)
				if err != nil {
					return usageErrorf("--acceptance-test-patch: %v", err)
				}
				req.AcceptanceTestPatch = string(data)
			}
			if cmd.Flags().Changed("fail-to-pass") {
				req.FailToPass = flagReq.GetFailToPass()
			}
			if cmd.Flags().Changed("pass-to-pass") {
				req.PassToPass = flagReq.GetPassToPass()
			}
			if cmd.Flags().Changed("test-timeout") {
				req.TestTimeout = durationpb.New(testTimeout)
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				wo, err := c.CreateWorkOrder(ctx, req)
				if err != nil {
					return err
				}
				return a.Render(wo, func(w io.Writer) error { return output.WorkOrder(w, wo) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `YAML work-order file ("-": stdin)`)
	f.StringVar(&flagReq.ProjectId, "project", "", "project ID")
	f.StringVar(&flagReq.Title, "title", "", "short title (at most 200 characters)")
	f.StringVar(&flagReq.Description, "description", "", "what to change and why")
	f.StringArrayVar(&flagReq.AcceptanceCriteria, "criteria", nil, "acceptance criterion (repeat for several)")
	f.Int32Var(&flagReq.Complexity, "complexity", 0, "1 (trivial) to 10 (hard); picks the routing tier")
	f.StringVar(&flagReq.RequestId, "request-id", "", "idempotency key: repeating it returns the same work order")
	f.StringVar(&flagReq.VariantId, "variant", "", "pin to this variant (id or name), bypassing routing and experiments")
	f.StringArrayVar(&metadata, "metadata", nil, "metadata KEY=VALUE (repeat for several)")
	f.BoolVar(&noTestsRequired, "no-tests-required", false, "waive the tests gate: a source change may pass without adding or changing a test")
	f.StringArrayVar(&hiddenTests, "acceptance-test", nil, "hidden acceptance test REPO_PATH=LOCAL_FILE, never shown to the proposer (repeat for several)")
	f.StringVar(&hiddenPatch, "acceptance-test-patch", "", "hidden acceptance tests as a unified diff file")
	f.StringArrayVar(&flagReq.FailToPass, "fail-to-pass", nil, "test that must fail at the base commit and pass after the change (repeat)")
	f.StringArrayVar(&flagReq.PassToPass, "pass-to-pass", nil, "test that must keep passing (repeat; default: every test passing at the base commit)")
	f.DurationVar(&buildTimeout, "build-timeout", 0, "time limit of each build command, 1s to 1h (default: the project's)")
	f.DurationVar(&testTimeout, "test-timeout", 0, "time limit of the test command, 1s to 1h (default: the project's)")
	return cmd
}

// overrideWorkOrder copies the flags the user actually gave onto req, so a
// flag's default never clobbers a value from the file.
func overrideWorkOrder(cmd *cobra.Command, req, flags *moosev1.CreateWorkOrderRequest, metadata []string) error {
	set := cmd.Flags().Changed
	if set("project") {
		req.ProjectId = flags.GetProjectId()
	}
	if set("title") {
		req.Title = flags.GetTitle()
	}
	if set("description") {
		req.Description = flags.GetDescription()
	}
	if set("criteria") {
		req.AcceptanceCriteria = flags.GetAcceptanceCriteria()
	}
	if set("complexity") {
		req.Complexity = flags.GetComplexity()
	}
	if set("request-id") {
		req.RequestId = flags.GetRequestId()
	}
	if set("variant") {
		req.VariantId = flags.GetVariantId()
	}
	if len(metadata) > 0 {
		md := maps.Clone(req.GetMetadata())
		if md == nil {
			md = map[string]string{}
		}
		for _, kv := range metadata {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return usageErrorf("--metadata %q: want KEY=VALUE", kv)
			}
			md[k] = v
		}
		req.Metadata = md
	}
	return nil
}

func newWOListCommand(a *App) *cobra.Command {
	var (
		filter moose.WorkOrderFilter
		status string
		page   moose.Page
		all    bool
	)
	cmd := &cobra.Command{
		Use:   "list [--project ID] [--status STATUS] [--page-size N] [--page-token T | --all]",
		Short: "List work orders, oldest first",
		Long: `List work orders in creation order, one page at a time, or every page with
--all. When more pages remain, the token for the next one is printed to stderr
(table output) or found in next_page_token (-o json, one ListWorkOrdersResponse
object).

Statuses: ` + strings.Join(moose.StatusNames(), ", ") + `.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if status != "" {
				s, err := moose.ParseStatus(status)
				if err != nil {
					return usageError{fmt.Errorf("--status: %w", err)}
				}
				filter.Status = s
			}
			if all && page.Token != "" {
				return usageErrorf("--all and --page-token exclude each other")
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp := &moosev1.ListWorkOrdersResponse{}
				if all {
					for wo, err := range c.AllWorkOrders(ctx, filter, page.Size) {
						if err != nil {
							return err
						}
						resp.WorkOrders = append(resp.WorkOrders, wo)
					}
				} else {
					var err error
					resp.WorkOrders, resp.NextPageToken, err = c.ListWorkOrders(ctx, filter, page)
					if err != nil {
						return err
					}
				}
				return a.Render(resp, func(w io.Writer) error {
					if err := output.WorkOrders(w, resp.GetWorkOrders()); err != nil {
						return err
					}
					if resp.GetNextPageToken() != "" {
						fmt.Fprintf(a.stderr, "More work orders: add --page-token=%s (or --all).\n", resp.GetNextPageToken())
					}
					return nil
				})
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&filter.ProjectID, "project", "", "only this project's work orders")
	f.StringVar(&status, "status", "", "only work orders in this status")
	f.Int32Var(&page.Size, "page-size", 0, "work orders per page (0: server default)")
	f.StringVar(&page.Token, "page-token", "", "continue from a previous page")
	f.BoolVar(&all, "all", false, "fetch every page")
	return cmd
}

func newWOGetCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a work order and its latest result",
		Long: `Show a work order and, once it has been scored, its result: overall score
and verdict, build and tests, refinement cycles, cost, pull request, and each
scoring dimension with its score, weight and reasons.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				wo, err := c.GetWorkOrder(ctx, args[0])
				if err != nil {
					return err
				}
				return a.Render(wo, func(w io.Writer) error { return output.WorkOrder(w, wo) })
			})
		},
	}
}

type transitionFunc func(ctx context.Context, c *moose.Client, id, reason string) (*moosev1.WorkOrder, error)

func newWOTransitionCommand(a *App, verb, short string, do transitionFunc) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Long: short + `.
A work order in a state that does not allow this is refused; the error names
its current state.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				wo, err := do(ctx, c, args[0], reason)
				if err != nil {
					return err
				}
				return a.Render(wo, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "Work order %s is %s.\n", wo.GetId(), moose.StatusName(wo.GetStatus()))
					return err
				})
			})
		},
	}
	if verb == "cancel" {
		cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the work order's events")
	}
	return cmd
}

func newWOEventsCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "events ID",
		Short: "Show a work order's audit trail, oldest first",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				events, err := c.ListWorkOrderEvents(ctx, args[0])
				if err != nil {
					return err
				}
				resp := &moosev1.ListWorkOrderEventsResponse{Events: events}
				return a.Render(resp, func(w io.Writer) error { return output.Events(w, events) })
			})
		},
	}
}

// watchExitCodes maps how a work order ended to wo watch's exit status.
var watchExitCodes = map[moosev1.WorkOrderStatus]int{
	moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED:    ExitOK,
	moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED:       ExitFailed,
	moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW: ExitNeedsReview,
	moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED:    ExitCancelled,
}

func newWOWatchCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a work order's events until it ends",
		Long: fmt.Sprintf(`Print a work order's events as they happen (its history first) until it
reaches a terminal state. --timeout does not apply unless given explicitly;
Ctrl-C stops watching without changing the work order.

With -o json each event is one compact JSON object per line (NDJSON).

Exit status:
  %d  the work order completed
  1  the watch failed (server unreachable, unknown id, stream cut before the end)
  2  usage error
  %d  the work order failed
  %d  the work order needs review
  %d  the work order was cancelled`, ExitOK, ExitFailed, ExitNeedsReview, ExitCancelled),
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.CallUnlimited(cmd, func(ctx context.Context, c *moose.Client) error {
				wo, err := c.WatchUntilDone(ctx, args[0], func(ev *moosev1.Event) error {
					if a.format == output.JSON {
						return output.WriteJSONLine(a.stdout, ev)
					}
					_, err := fmt.Fprintln(a.stdout, output.EventLine(ev))
					return err
				})
				if err != nil {
					return err
				}
				return watchResult(a, wo)
			})
		},
	}
}

func watchResult(a *App, wo *moosev1.WorkOrder) error {
	st := wo.GetStatus()
	if a.format != output.JSON {
		line := fmt.Sprintf("Work order %s is %s", wo.GetId(), moose.StatusName(st))
		if r := wo.GetResult(); r != nil {
			line += fmt.Sprintf(" (score %.1f/10)", r.GetOverallScore())
		}
		if _, err := fmt.Fprintln(a.stdout, line+"."); err != nil {
			return err
		}
	}
	code, ok := watchExitCodes[st]
	if !ok {
		return fmt.Errorf("watch work order %s: ended in unexpected status %s", wo.GetId(), moose.StatusName(st))
	}
	if code != ExitOK {
		return exitCode(code, "")
	}
	return nil
}
