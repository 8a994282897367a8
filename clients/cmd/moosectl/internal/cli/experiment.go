package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newExperimentCommand) }

func newExperimentCommand(a *App) *cobra.Command {
	cmd := groupCommand("exp", "Run A/B experiments between proposer variants")
	cmd.Aliases = []string{"experiment", "experiments"}
	cmd.Long = `An experiment sends a share of a routing tier's work orders to a candidate
variant and the rest to the tier's baseline. After every finished work order
moosed checks always-valid confidence sequences and may promote the candidate
(it becomes the tier's variant), roll it back, or, once the budget is spent,
declare the experiment inconclusive and leave the choice to a person.

Start, stop, promote and rollback record who did it: the name of the token
the call is made with (moosectl token create NAME mints one per person or
job). Nothing the caller claims can change it.`
	// --actor once sent a name (default $USER) that moosed never records for
	// an authenticated call, and every call is authenticated: it stays, hidden,
	// only so scripts that pass it keep working, and sends nothing. (Not
	// cobra's MarkDeprecated: that prints its notice on stdout, into -o json.)
	cmd.PersistentFlags().String("actor", "", "ignored: moosed records the calling token's name")
	_ = cmd.PersistentFlags().MarkHidden("actor")
	cmd.AddCommand(
		newExpStartCommand(a),
		newExpListCommand(a),
		newExpShowCommand(a),
		newExpActionCommand(a, "stop", "Stop a running experiment's candidate traffic; the baseline stays",
			func(ctx context.Context, c moosev1.ExperimentServiceClient, id, reason string) (*moosev1.Experiment, error) {
				resp, err := c.StopExperiment(ctx, &moosev1.StopExperimentRequest{Id: id, Reason: reason})
				return resp.GetExperiment(), err
			}),
		newExpActionCommand(a, "promote", "Make the candidate the tier's variant (running, inconclusive or stopped experiments)",
			func(ctx context.Context, c moosev1.ExperimentServiceClient, id, reason string) (*moosev1.Experiment, error) {
				resp, err := c.PromoteExperiment(ctx, &moosev1.PromoteExperimentRequest{Id: id, Reason: reason})
				return resp.GetExperiment(), err
			}),
		newExpActionCommand(a, "rollback", "End the experiment keeping the baseline (running, inconclusive or stopped experiments)",
			func(ctx context.Context, c moosev1.ExperimentServiceClient, id, reason string) (*moosev1.Experiment, error) {
				resp, err := c.RollbackExperiment(ctx, &moosev1.RollbackExperimentRequest{Id: id, Reason: reason})
				return resp.GetExperiment(), err
			}),
	)
	return cmd
}

// warnIgnoredActor tells someone still passing --actor that it has no effect.
func (a *App) warnIgnoredActor(cmd *cobra.Command) {
	if cmd.Flags().Changed("actor") {
		fmt.Fprintln(a.stderr, `moosectl: --actor is ignored: moosed records the name of the calling token (one per person: "moosectl token create NAME")`)
	}
}

func newExpStartCommand(a *App) *cobra.Command {
	var (
		req        moosev1.StartExperimentRequest
		cfg        moosev1.ExperimentConfig
		budgetDays float64
		nums       = map[string]*float64{}
		ints       = map[string]*int32{}
	)
	cmd := &cobra.Command{
		Use:   "start --tier TIER --candidate VARIANT [--baseline VARIANT] [--share 0.2] [flags]",
		Short: "Start an experiment in a routing tier",
		Long: `Start an experiment in a routing tier that has none running. Variants are
given by id or name; the baseline defaults to the tier's current variant.
Decision parameters left unset take the server's defaults (shown in
brackets). With --shadow the candidate runs on copies of the baseline's
work orders: validated and scored, never published.`,
		Example: `  moosectl exp start --tier cheap --candidate qwen-coder-v2 --share 0.2 --margin 0.5
  moosectl exp start --tier strong --candidate gpt-new --shadow --budget-wos 300 --budget-days 7`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.GetTier() == "" || req.GetCandidateVariant() == "" {
				return usageErrorf("--tier and --candidate are required")
			}
			set := cmd.Flags().Changed
			for name, v := range nums {
				if !set(name) {
					continue
				}
				val := *v
				switch name {
				case "alpha":
					cfg.Alpha = &val
				case "n-star":
					cfg.NStarDiff = &val
				case "n-star-floor":
					cfg.NStarFloor = &val
				case "margin":
					cfg.Margin = &val
				case "floor":
					cfg.Floor = &val
				case "cost-ratio":
					cfg.CostRatio = &val
				case "spend-cap":
					cfg.SpendCapUsd = &val
				}
			}
			for name, v := range ints {
				if !set(name) {
					continue
				}
				val := *v
				switch name {
				case "min-samples":
					cfg.MinSamplesPromote = &val
				case "min-samples-rollback":
					cfg.MinSamplesRollback = &val
				case "budget-wos":
					cfg.BudgetWorkOrders = &val
				case "breaker":
					cfg.BreakerConsecutive = &val
				}
			}
			if set("budget-days") {
				cfg.BudgetDuration = durationpb.New(time.Duration(budgetDays * float64(24*time.Hour)))
			}
			req.Config = &cfg
			a.warnIgnoredActor(cmd)
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := moosev1.NewExperimentServiceClient(c.Conn()).StartExperiment(ctx, &req)
				if err != nil {
					return err
				}
				return a.renderExperiment(ctx, c, resp.GetExperiment())
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Tier, "tier", "", "routing tier (cheap, strong, ...)")
	f.StringVar(&req.BaselineVariant, "baseline", "", "baseline variant id or name (default: the tier's current variant)")
	f.StringVar(&req.CandidateVariant, "candidate", "", "candidate variant id or name")
	f.Float64Var(&req.CandidateShare, "share", 0.2, "candidate share of the tier's work orders, in (0, 1]")
	f.BoolVar(&req.Shadow, "shadow", false, "run the candidate on copies of baseline work orders; never publish it")
	num := func(name string, def float64, usage string) {
		nums[name] = f.Float64(name, def, usage)
	}
	num("margin", 0.5, "score points the candidate must confidently beat the baseline by")
	num("floor", 6.0, "score (0-10) the candidate must confidently reach")
	num("cost-ratio", 1.25, "roll back when cost per accepted WO is confidently above this × the baseline's")
	num("alpha", 0.05, "error probability over all looks")
	num("n-star", 200, "N* of the two-arm confidence sequences")
	num("n-star-floor", 40, "N* of the candidate's floor sequence")
	num("spend-cap", 0, "candidate spend in USD that stops it (0: no cap)")
	in := func(name string, def int32, usage string) {
		ints[name] = f.Int32(name, def, usage)
	}
	in("min-samples", 30, "finished WOs per arm before promotion")
	in("min-samples-rollback", 10, "finished candidate WOs before rollback")
	in("budget-wos", 600, "finished WOs (both arms) after which the experiment is inconclusive")
	in("breaker", 5, "consecutive candidate crashes or zero scores that stop it")
	f.Float64Var(&budgetDays, "budget-days", 14, "days after which the experiment is inconclusive")
	return cmd
}

func newExpListCommand(a *App) *cobra.Command {
	var req moosev1.ListExperimentsRequest
	cmd := &cobra.Command{
		Use:   "list [--tier TIER] [--status STATUS]",
		Short: "List experiments, newest first",
		Long: `List experiments, newest first. Statuses: running, promoted, rolled_back,
inconclusive, stopped. Variants are shown by name; with -o json the output is
one ListExperimentsResponse, with variant ids.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := moosev1.NewExperimentServiceClient(c.Conn()).ListExperiments(ctx, &req)
				if err != nil {
					return err
				}
				if a.format == output.JSON {
					return output.WriteJSON(a.stdout, resp)
				}
				variants, err := variantsByID(ctx, c)
				if err != nil {
					return err
				}
				return renderExperiments(a.stdout, resp.GetExperiments(), variants)
			})
		},
	}
	cmd.Flags().StringVar(&req.Tier, "tier", "", "only this tier")
	cmd.Flags().StringVar(&req.Status, "status", "", "only this status")
	return cmd
}

func newExpShowCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Aliases: []string{"get"},
		Short:   "Show an experiment: per-arm statistics and the current decision",
		Long: `Show an experiment: per arm the finished work orders (n), mean score overall
and per dimension, pass rate, cost per accepted work order and the arm's
always-valid confidence sequence; then the current decision (the live look
while running, the final one after) with its reason and numbers. Welch and
z-test figures are printed for reference only: they are not valid when
results are watched continuously and never decide.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := moosev1.NewExperimentServiceClient(c.Conn()).GetExperiment(ctx, &moosev1.GetExperimentRequest{Id: args[0]})
				if err != nil {
					return err
				}
				return a.renderExperiment(ctx, c, resp.GetExperiment())
			})
		},
	}
}

func newExpActionCommand(a *App, name, short string,
	do func(context.Context, moosev1.ExperimentServiceClient, string, string) (*moosev1.Experiment, error)) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   name + " ID [--reason TEXT]",
		Short: short,
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.warnIgnoredActor(cmd)
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				e, err := do(ctx, moosev1.NewExperimentServiceClient(c.Conn()), args[0], reason)
				if err != nil {
					return err
				}
				return a.renderExperiment(ctx, c, e)
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded with the decision")
	return cmd
}

func experimentStatus(s moosev1.ExperimentStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "EXPERIMENT_STATUS_"))
}

func decisionOutcome(o moosev1.DecisionOutcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "DECISION_OUTCOME_"))
}

// renderExperiment prints e as JSON (ids, as the API has them) or as a table
// naming its variants, which takes one more request.
func (a *App) renderExperiment(ctx context.Context, c *moose.Client, e *moosev1.Experiment) error {
	if a.format == output.JSON {
		return output.WriteJSON(a.stdout, e)
	}
	variants, err := variantsByID(ctx, c)
	if err != nil {
		return err
	}
	return renderExperiment(a.stdout, e, variants)
}

// renderExperiments writes one row per experiment, variants by name (see
// variantName).
func renderExperiments(w io.Writer, exps []*moosev1.Experiment, variants map[string]*moosev1.Variant) error {
	t := output.NewTable(w, "ID", "TIER", "STATUS", "BASELINE", "CANDIDATE", "SHARE", "N (B/C)", "DECISION", "STARTED")
	for _, e := range exps {
		share := expPct(e.GetCandidateShare())
		if e.GetShadow() {
			share += " shadow"
		}
		t.Row(e.GetId(), e.GetTier(), experimentStatus(e.GetStatus()),
			variantName(variants, e.GetBaselineVariantId()), variantName(variants, e.GetCandidateVariantId()),
			share, fmt.Sprintf("%d/%d", e.GetBaseline().GetN(), e.GetCandidate().GetN()),
			decisionOutcome(e.GetDecision().GetOutcome()), output.Time(e.GetStartTime()))
	}
	return t.Flush()
}

// renderExperiment writes one experiment, variants by name and id.
func renderExperiment(w io.Writer, e *moosev1.Experiment, variants map[string]*moosev1.Variant) error {
	t := output.NewTable(w)
	t.Row("ID:", e.GetId())
	t.Row("Tier:", e.GetTier())
	t.Row("Status:", experimentStatus(e.GetStatus()))
	t.Row("Baseline:", variantNameAndID(variants, e.GetBaselineVariantId()))
	share := expPct(e.GetCandidateShare()) + " of traffic"
	if e.GetShadow() {
		share += ", shadow (never published)"
	}
	t.Row("Candidate:", variantNameAndID(variants, e.GetCandidateVariantId())+", "+share)
	t.Row("Started:", output.Time(e.GetStartTime())+" by "+e.GetStartedBy())
	t.Row("Ended:", output.Time(e.GetEndTime()))
	c := e.GetConfig()
	t.Row("Rule:", fmt.Sprintf("margin %.4g, floor %.4g, cost ratio %.4g, alpha %.4g, N* %.4g/%.4g, min samples %d (rollback %d), budget %d WOs / %s",
		c.GetMargin(), c.GetFloor(), c.GetCostRatio(), c.GetAlpha(), c.GetNStarDiff(), c.GetNStarFloor(),
		c.GetMinSamplesPromote(), c.GetMinSamplesRollback(), c.GetBudgetWorkOrders(), expDays(c.GetBudgetDuration())))
	t.Row("Looks:", strconv.Itoa(int(e.GetLooks())))
	t.Row("Always-valid p:", fmt.Sprintf("score %.4g, pass rate %.4g (running minimum)", e.GetScoreDiffPValue(), e.GetPassDiffPValue()))
	if err := t.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	arms := []*moosev1.ExperimentArm{e.GetBaseline(), e.GetCandidate()}
	at := output.NewTable(w, "ARM", "VARIANT", "N", "CRASHED", "MEAN", "SD", "PASS RATE", "COST/ACCEPTED", "SCORE CS")
	for _, a := range arms {
		at.Row(a.GetArm(), variantName(variants, a.GetVariantId()), strconv.Itoa(int(a.GetN())), strconv.Itoa(int(a.GetCrashed())),
			expNum(a.GetMeanScore(), a.GetN()), expNum(a.GetScoreSd(), a.GetN()), expPctN(a.GetPassRate(), a.GetN()),
			expUSD(a.GetCostPerAcceptedUsd(), a.GetN()), expInterval(a.GetScoreCs()))
	}
	if err := at.Flush(); err != nil {
		return err
	}

	// Mean per dimension, one row per dimension seen in either arm.
	var dims []string
	byArm := []map[string]*moosev1.DimensionMean{{}, {}}
	for i, a := range arms {
		for _, d := range a.GetDimensions() {
			byArm[i][d.GetName()] = d
			if !slices.Contains(dims, d.GetName()) {
				dims = append(dims, d.GetName())
			}
		}
	}
	if len(dims) > 0 {
		slices.Sort(dims)
		fmt.Fprintln(w)
		dt := output.NewTable(w, "DIMENSION", "BASELINE", "CANDIDATE")
		for _, name := range dims {
			cell := func(m map[string]*moosev1.DimensionMean) string {
				if d, ok := m[name]; ok {
					return fmt.Sprintf("%.2f (n=%d)", d.GetMean(), d.GetN())
				}
				return "-"
			}
			dt.Row(name, cell(byArm[0]), cell(byArm[1]))
		}
		if err := dt.Flush(); err != nil {
			return err
		}
	}

	d := e.GetDecision()
	fmt.Fprintln(w)
	dt := output.NewTable(w)
	label := decisionOutcome(d.GetOutcome())
	if d.GetDecidedBy() != "" {
		label += " (by " + d.GetDecidedBy() + ", " + output.Time(d.GetDecideTime()) + ")"
	} else {
		label += " (live look)"
	}
	dt.Row("Decision:", label)
	dt.Row("Reason:", d.GetReason())
	dt.Row("Score diff CS:", expCS(d.GetScoreDiff()))
	dt.Row("Candidate floor CS:", expCS(d.GetFloor()))
	dt.Row("Pass-rate diff CS:", expCS(d.GetPassDiff()))
	cost := expCS(d.GetCostExcess())
	if d.GetCostRatio() > 0 {
		cost += fmt.Sprintf(", cost ratio %.3g", d.GetCostRatio())
	}
	dt.Row("Cost excess CS:", cost)
	ref := []string{}
	if wt := d.GetWelch(); wt != nil {
		ref = append(ref, fmt.Sprintf("Welch t=%.4g df=%.4g p=%.4g", wt.GetT(), wt.GetDegreesOfFreedom(), wt.GetPValue()))
	}
	if z := d.GetPassZ(); z != nil {
		ref = append(ref, fmt.Sprintf("pass-rate z=%.4g p=%.4g", z.GetZ(), z.GetPValue()))
	}
	if len(ref) > 0 {
		dt.Row("Fixed-horizon (reference only):", strings.Join(ref, "; "))
	}
	if err := dt.Flush(); err != nil {
		return err
	}

	if evs := e.GetEvents(); len(evs) > 0 {
		fmt.Fprintln(w)
		et := output.NewTable(w, "TIME", "EVENT", "ACTOR", "MESSAGE")
		for _, ev := range evs {
			et.Row(output.Time(ev.GetCreateTime()), ev.GetType(), ev.GetActor(), output.Truncate(ev.GetMessage(), 120))
		}
		return et.Flush()
	}
	return nil
}

func expPct(f float64) string { return strconv.FormatFloat(100*f, 'g', 4, 64) + "%" }

func expPctN(f float64, n int32) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

func expNum(f float64, n int32) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", f)
}

func expUSD(f float64, n int32) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("$%.4f", f)
}

func expInterval(cs *moosev1.ConfidenceSequence) string {
	if cs == nil {
		return "-"
	}
	return fmt.Sprintf("[%.3f, %.3f]", cs.GetLower(), cs.GetUpper())
}

func expCS(cs *moosev1.ConfidenceSequence) string {
	if cs == nil {
		return "n/a (too little data)"
	}
	return fmt.Sprintf("%s, estimate %.4g, n=%d", expInterval(cs), cs.GetEstimate(), cs.GetN())
}

func expDays(d *durationpb.Duration) string {
	if d == nil {
		return "-"
	}
	return strconv.FormatFloat(d.AsDuration().Hours()/24, 'g', 4, 64) + " days"
}
