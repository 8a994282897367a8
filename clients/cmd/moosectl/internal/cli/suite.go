package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newSuiteCommand) }

func newSuiteCommand(a *App) *cobra.Command {
	cmd := groupCommand("suite", "Run a suite of work orders through variants and compare them")
	var variants []string
	var repo string
	run := &cobra.Command{
		Use:   "run FILE --variant NAME [--variant NAME ...]",
		Short: "Run every work order of a suite through each variant, wait, and print a comparison",
		Long: `Creates the suite's project if it does not exist, then for each variant creates the
suite's work orders pinned to that variant (bypassing routing), approves them, waits for
every one to finish, and prints per variant: builds passed, tests passed, mean score per
dimension, pass rate, cycles used and cost per accepted work order.

Running the same suite again reuses the work orders of the earlier run (request ids derive
from the suite's content), so an interrupted run can simply be repeated.

With -o json the comparison is one array, an object per variant (snake_case names:
variant, work_orders, pass_rate, mean_dimension, failure_categories, ...).`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(variants) == 0 {
				return usageErrorf("at least one --variant is required")
			}
			suite, err := moose.LoadSuite(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			return a.CallUnlimited(cmd, func(ctx context.Context, c *moose.Client) error {
				return runSuite(ctx, a, c, suite, filepath.Dir(args[0]), repo, variants)
			})
		},
	}
	run.Flags().StringArrayVar(&variants, "variant", nil, "variant id or name (repeatable)")
	run.Flags().StringVar(&repo, "repo", "", "repository URL or path of the project (overrides the suite's)")
	cmd.AddCommand(run)
	return cmd
}

func runSuite(ctx context.Context, a *App, c *moose.Client, s *moose.Suite, suiteDir, repo string, variants []string) error {
	project, err := suiteProject(ctx, c, s, suiteDir, repo)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stderr(), "suite %s: %d work orders × %d variants on project %s (%s)\n",
		s.Hash, len(s.WorkOrders), len(variants), project.GetName(), project.GetRepoUrl())
	byVariant := map[string][]string{}
	for _, v := range variants {
		for i := range s.WorkOrders {
			wo, err := c.CreateWorkOrder(ctx, s.Request(project.GetId(), v, i))
			if err != nil {
				return fmt.Errorf("create work order %d for %s: %w", i, v, err)
			}
			if wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING {
				if _, err := c.ApproveWorkOrder(ctx, wo.GetId()); err != nil {
					return err
				}
			}
			byVariant[v] = append(byVariant[v], wo.GetId())
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	finished := map[string][]*moosev1.WorkOrder{}
	errs := make(chan error, len(variants)*len(s.WorkOrders))
	for _, v := range variants {
		for _, id := range byVariant[v] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wo, err := c.WatchUntilDone(ctx, id, func(*moosev1.Event) error { return nil })
				if err != nil {
					errs <- fmt.Errorf("watch %s: %w", id, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				finished[v] = append(finished[v], wo)
				r := wo.GetResult()
				fmt.Fprintf(a.Stderr(), "  [%s] %-12s %4.1f/10  %d cycle(s)  %s\n", v, moose.StatusName(wo.GetStatus()),
					r.GetOverallScore(), r.GetCycles(), output.Truncate(wo.GetTitle(), 60))
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	var sums []moose.VariantSummary
	for _, v := range variants {
		sum := moose.Summarize(v, finished[v])
		attempts := map[string][]*moosev1.Attempt{}
		for _, w := range finished[v] {
			if !w.GetResult().GetPassed() {
				if attempts[w.GetId()], err = c.ListWorkOrderAttempts(ctx, w.GetId(), false); err != nil {
					return err
				}
			}
		}
		sum.CountFailures(finished[v], attempts)
		sums = append(sums, sum)
	}
	if a.Format() == output.JSON {
		return writeSummaryJSON(a.Stdout(), sums)
	}
	return writeSummaryTable(a.Stdout(), sums)
}

// suiteProject finds the suite's project by name or creates it.
func suiteProject(ctx context.Context, c *moose.Client, s *moose.Suite, suiteDir, repo string) (*moosev1.Project, error) {
	for p, err := range c.AllProjects(ctx, 100) {
		if err != nil {
			return nil, err
		}
		if p.GetName() == s.Project.Name {
			return p, nil
		}
	}
	if repo == "" {
		repo = s.Project.RepoURL
	}
	if repo == "" && s.Project.Path != "" {
		p := s.Project.Path
		if !filepath.IsAbs(p) {
			// Suite paths are relative to the repository root the suite lives in.
			p = filepath.Join(suiteDir, "..", "..", p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(abs, ".git")); err != nil {
			return nil, usageErrorf("%s is not a git repository; pass --repo with a clone of it", abs)
		}
		repo = abs
	}
	if repo == "" {
		return nil, usageErrorf("the suite names no repository; pass --repo")
	}
	return c.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: s.Project.Name, RepoUrl: repo,
		DefaultBranch: s.Project.DefaultBranch, Language: s.Project.Language})
}

func writeSummaryTable(w io.Writer, sums []moose.VariantSummary) error {
	dims := moose.DimensionNames(sums)
	header := []string{"METRIC"}
	for _, s := range sums {
		header = append(header, strings.ToUpper(s.Variant))
	}
	t := output.NewTable(w, header...)
	row := func(name string, f func(moose.VariantSummary) string) {
		cells := []string{name}
		for _, s := range sums {
			cells = append(cells, f(s))
		}
		t.Row(cells...)
	}
	row("work orders", func(s moose.VariantSummary) string { return fmt.Sprint(s.WorkOrders) })
	row("builds passed", func(s moose.VariantSummary) string { return fmt.Sprintf("%d/%d", s.BuildsPassed, s.WorkOrders) })
	row("tests passed", func(s moose.VariantSummary) string { return fmt.Sprintf("%d/%d", s.TestsPassed, s.WorkOrders) })
	row("hidden tests passed", func(s moose.VariantSummary) string {
		if s.HiddenRan == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d", s.HiddenPassed, s.HiddenRan)
	})
	row("accepted (pass rate)", func(s moose.VariantSummary) string {
		return fmt.Sprintf("%d/%d (%.0f%%)", s.Passed, s.WorkOrders, 100*s.PassRate())
	})
	row("fixed by refinement", func(s moose.VariantSummary) string { return fmt.Sprint(s.FixedByRefine) })
	row("mean score", func(s moose.VariantSummary) string { return fmt.Sprintf("%.2f", s.MeanScore) })
	for _, d := range dims {
		row("  "+d, func(s moose.VariantSummary) string { return fmt.Sprintf("%.2f", s.MeanDimension[d]) })
	}
	row("mean cycles", func(s moose.VariantSummary) string { return fmt.Sprintf("%.2f", s.MeanCycles) })
	row("cost", func(s moose.VariantSummary) string { return fmt.Sprintf("$%.4f", s.CostUSD) })
	row("cost per accepted WO", func(s moose.VariantSummary) string {
		if math.IsInf(s.CostPerAccepted(), 1) {
			return "-"
		}
		return fmt.Sprintf("$%.4f", s.CostPerAccepted())
	})
	row("system failures", func(s moose.VariantSummary) string { return fmt.Sprint(s.Failed) })
	if names := moose.FailureNames(sums); len(names) > 0 {
		row("not accepted, by finding:", func(s moose.VariantSummary) string { return fmt.Sprint(s.WorkOrders - s.Passed) })
		for _, n := range names {
			row("  "+n, func(s moose.VariantSummary) string { return fmt.Sprint(s.FailureCategories[n]) })
		}
	}
	return t.Flush()
}

// writeSummaryJSON prints one array, an object per variant. A summary is no
// proto message, so protojson cannot name its fields: VariantSummary's json
// tags do, in snake_case like everything else -o json prints.
func writeSummaryJSON(w io.Writer, sums []moose.VariantSummary) error {
	type out struct {
		moose.VariantSummary
		PassRate        float64  `json:"pass_rate"`
		CostPerAccepted *float64 `json:"cost_per_accepted_usd"`
	}
	var list []out
	for _, s := range sums {
		o := out{VariantSummary: s, PassRate: s.PassRate()}
		if c := s.CostPerAccepted(); !math.IsInf(c, 1) {
			o.CostPerAccepted = &c
		}
		list = append(list, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}
