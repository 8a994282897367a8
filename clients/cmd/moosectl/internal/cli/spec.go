package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newSpecCommand) }

func newSpecCommand(a *App) *cobra.Command {
	cmd := groupCommand("spec", "Turn technical specs into work orders")
	cmd.AddCommand(newSpecDecomposeCommand(a))
	return cmd
}

func newSpecDecomposeCommand(a *App) *cobra.Command {
	var (
		req    moosev1.DecomposeSpecRequest
		params []string
	)
	cmd := &cobra.Command{
		Use:   "decompose SPEC.md --project ID [flags]",
		Short: "Split a spec into pending work orders with an architect plugin",
		Long: `Send a spec document ("-": stdin) to an architect plugin, which splits it into
small work orders (title, description, acceptance criteria, complexity). They
are created as pending work orders of the project, in order, for you to review
and approve (moosectl wo approve). Nothing runs until then.

The default architect, architect-replay, answers from a recording: --base-url
names the cassette (for example examples/cassettes/architect.yaml, resolved on
the server). openai-architect and anthropic-architect ask a model; set --model
and, for OpenAI-compatible servers, --base-url.`,
		Example: `  moosectl spec decompose examples/specs/calc-features.md --project $PID \
    --base-url examples/cassettes/architect.yaml
  moosectl spec decompose spec.md --project $PID --architect openai-architect --model gpt-4o-mini
  moosectl spec decompose spec.md --project $PID --architect anthropic-architect \
    --model claude-sonnet-4-5 --dry-run -o json`,
		Args: exactArgs(1, "SPEC"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.GetProjectId() == "" {
				return usageErrorf("--project is required")
			}
			spec, name, err := readSpec(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			req.Spec = spec
			if req.SpecName == "" {
				req.SpecName = name
			}
			for _, kv := range params {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErrorf("--param %q: want KEY=VALUE", kv)
				}
				if req.Params == nil {
					req.Params = map[string]string{}
				}
				req.Params[k] = v
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := moosev1.NewSpecServiceClient(c.Conn()).DecomposeSpec(ctx, &req)
				if err != nil {
					return fmt.Errorf("decompose spec: %w", err)
				}
				return a.Render(resp, func(w io.Writer) error { return writePlan(w, resp, req.GetDryRun()) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ProjectId, "project", "", "project ID (required)")
	f.StringVar(&req.Architect, "architect", "", `architect plugin (default "architect-replay")`)
	f.StringVar(&req.ArchitectVersion, "architect-version", "", "architect plugin version (default: latest registered)")
	f.StringVar(&req.Model, "model", "", "model the architect asks")
	f.StringVar(&req.BaseUrl, "base-url", "", "model server URL, or the replay cassette path")
	f.StringArrayVar(&params, "param", nil, "architect setting KEY=VALUE (repeat for several)")
	f.Int32Var(&req.MaxWorkOrders, "max", 0, "at most this many work orders (0: the architect's default)")
	f.StringVar(&req.SpecName, "name", "", "spec name stored with the work orders (default: the file name)")
	f.StringVar(&req.RequestId, "request-id", "", "idempotency key: repeating it returns the same work orders")
	f.BoolVar(&req.DryRun, "dry-run", false, "show the plan without creating work orders")
	return cmd
}

// readSpec reads the spec file ("-": stdin) and returns it with its name.
func readSpec(path string, stdin io.Reader) (string, string, error) {
	var b []byte
	var err error
	name := filepath.Base(path)
	if path == "-" {
		b, err = io.ReadAll(stdin)
		name = ""
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", "", usageErrorf("read spec: %v", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", "", usageErrorf("spec %s is empty", path)
	}
	return string(b), name, nil
}

func writePlan(w io.Writer, resp *moosev1.DecomposeSpecResponse, dryRun bool) error {
	verb := "Created"
	if dryRun {
		verb = "Planned (dry run, nothing created)"
	}
	fmt.Fprintf(w, "%s %d work orders (model %s, %d tokens in, %d out)\n\n", verb, len(resp.GetWorkOrders()),
		output.Cell(resp.GetModel()), resp.GetInputTokens(), resp.GetOutputTokens())
	t := output.NewTable(w, "#", "ID", "STATUS", "CPLX", "TITLE")
	for i, wo := range resp.GetWorkOrders() {
		id := wo.GetId()
		if id == "" {
			id = "-"
		}
		t.Row(strconv.Itoa(i+1), id, moose.StatusName(wo.GetStatus()), strconv.Itoa(int(wo.GetComplexity())),
			output.Truncate(wo.GetTitle(), 80))
	}
	return t.Flush()
}
