package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// findingsShown is how many findings per attempt the table lists; the rest
// are counted, and -o json has them all.
const findingsShown = 5

func newWOAttemptsCommand(a *App) *cobra.Command {
	var showProposal, full bool
	cmd := &cobra.Command{
		Use:   "attempts ID",
		Short: "Show every proposal cycle of a work order: findings, cost, score",
		Long: `Show every stored proposal cycle of a work order, oldest first, to see why
it failed or how it was refined: one row per cycle with its tokens, cost,
build and test verdicts, score and number of findings, then the first
findings of each cycle.

--show-proposal also prints each cycle's raw proposal as the model wrote it.
-o json prints everything, validator reports and logs included. A proposal
over 64 KiB shows its first and last 32 KiB and a log its last 8 KiB unless
--full asks for them whole.`,
		Example: `  moosectl wo attempts $WO
  moosectl wo attempts $WO --show-proposal
  moosectl wo attempts $WO --show-proposal --full
  moosectl wo attempts $WO -o json | jq '.attempts[].findings'`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				attempts, err := c.ListWorkOrderAttempts(ctx, args[0], full)
				if err != nil {
					return err
				}
				resp := &moosev1.ListWorkOrderAttemptsResponse{Attempts: attempts}
				return a.Render(resp, func(w io.Writer) error { return writeAttempts(w, attempts, showProposal) })
			})
		},
	}
	cmd.Flags().BoolVar(&showProposal, "show-proposal", false, "print each cycle's raw proposal")
	cmd.Flags().BoolVar(&full, "full", false, "raw proposals and validator logs whole, however large")
	return cmd
}

// writeAttempts writes the attempts table, then each attempt's first
// findings, then (with proposals) each raw proposal.
func writeAttempts(w io.Writer, attempts []*moosev1.Attempt, proposals bool) error {
	if len(attempts) == 0 {
		_, err := io.WriteString(w, "No attempts yet.\n")
		return err
	}
	t := output.NewTable(w, "EXEC", "CYCLE", "VARIANT/MODEL", "TOKENS IN/OUT", "COST", "BUILD", "TESTS", "SCORE", "FINDINGS")
	for _, at := range attempts {
		t.Row(attemptExec(at), strconv.Itoa(int(at.GetCycle())), variantModel(at),
			fmt.Sprintf("%d%s/%d", at.GetInputTokens(), cacheNote(at.GetCacheReadInputTokens(), at.GetCacheWriteInputTokens()), at.GetOutputTokens()),
			fmt.Sprintf("$%.6f", at.GetCostUsd()), verdictWord(at.GetBuildPassed()), attemptTests(at),
			attemptScore(at), strconv.Itoa(len(at.GetFindings())))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, at := range attempts {
		fs := at.GetFindings()
		if len(fs) == 0 && at.GetError() == "" && at.GetGate() == "" {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", attemptLabel(at))
		if at.GetError() != "" {
			fmt.Fprintf(&b, "  error: %s\n", output.Truncate(foldLine(at.GetError()), 200))
		}
		if at.GetGate() != "" {
			fmt.Fprintf(&b, "  gate: %s\n", output.Truncate(foldLine(at.GetGate()), 200))
		}
		for _, f := range fs[:min(findingsShown, len(fs))] {
			fmt.Fprintf(&b, "  %s\n", findingLine(f))
		}
		if more := len(fs) - findingsShown; more > 0 {
			fmt.Fprintf(&b, "  … %d more (-o json shows all)\n", more)
		}
	}
	if proposals {
		for _, at := range attempts {
			fmt.Fprintf(&b, "\n--- %s: proposal ---\n", attemptLabel(at))
			p := strings.TrimRight(at.GetRawProposal(), "\n")
			if p == "" {
				p = "(empty)"
			}
			b.WriteString(p + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func attemptExec(at *moosev1.Attempt) string {
	s := strconv.Itoa(int(at.GetExecution()))
	if at.GetShadow() {
		s += " (shadow)"
	}
	return s
}

func attemptLabel(at *moosev1.Attempt) string {
	s := fmt.Sprintf("execution %d cycle %d", at.GetExecution(), at.GetCycle())
	if at.GetShadow() {
		s += " (shadow)"
	}
	return s
}

// variantModel shows the variant by its id's first block (enough to tell
// variants apart in one work order) and the model that answered.
func variantModel(at *moosev1.Attempt) string {
	v, _, _ := strings.Cut(at.GetVariantId(), "-")
	m := at.GetModel()
	switch {
	case v == "":
		return m
	case m == "":
		return v
	}
	return v + "/" + m
}

// attemptTests sums the validators' test counts into "passed 3/3".
func attemptTests(at *moosev1.Attempt) string {
	var total, failed int32
	for _, r := range at.GetValidations() {
		total += r.GetTestsTotal()
		failed += r.GetTestsFailed()
	}
	s := verdictWord(at.GetTestsPassed())
	if total > 0 {
		s += fmt.Sprintf(" %d/%d", total-failed, total)
	}
	return s
}

func attemptScore(at *moosev1.Attempt) string {
	if !at.GetScored() {
		return "-"
	}
	return fmt.Sprintf("%.1f %s", at.GetOverallScore(), verdictWord(at.GetScorePassed()))
}

// findingLine is "source file:line:col [category] message" on one line.
func findingLine(f *moosev1.AttemptFinding) string {
	loc := f.GetFile()
	if loc != "" && f.GetLine() > 0 {
		loc += ":" + strconv.Itoa(int(f.GetLine()))
		if f.GetColumn() > 0 {
			loc += ":" + strconv.Itoa(int(f.GetColumn()))
		}
	}
	parts := []string{f.GetSource()}
	if loc != "" {
		parts = append(parts, loc)
	}
	if f.GetCategory() != "" {
		parts = append(parts, "["+f.GetCategory()+"]")
	}
	parts = append(parts, output.Truncate(foldLine(f.GetMessage()), 160))
	return strings.Join(parts, " ")
}

func verdictWord(ok bool) string {
	if ok {
		return "passed"
	}
	return "failed"
}

// foldLine folds line breaks and tabs into spaces.
func foldLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
