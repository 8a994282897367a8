package output

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// titleWidth keeps list rows on one terminal line for typical ids.
const titleWidth = 48

// Projects writes one row per project.
func Projects(w io.Writer, projects []*moosev1.Project) error {
	t := NewTable(w, "ID", "NAME", "LANGUAGE", "BRANCH", "REPOSITORY", "CREATED")
	for _, p := range projects {
		t.Row(p.GetId(), p.GetName(), p.GetLanguage(), p.GetDefaultBranch(), p.GetRepoUrl(), Time(p.GetCreateTime()))
	}
	return t.Flush()
}

// Project writes one project as a key/value block.
func Project(w io.Writer, p *moosev1.Project) error {
	t := NewTable(w)
	t.Row("ID:", p.GetId())
	t.Row("Name:", p.GetName())
	t.Row("Repository:", p.GetRepoUrl())
	t.Row("Default branch:", p.GetDefaultBranch())
	t.Row("Language:", p.GetLanguage())
	t.Row("Preset:", p.GetPreset())
	t.Row("Build command:", p.GetBuildCommand())
	t.Row("Test command:", p.GetTestCommand())
	t.Row("Typecheck command:", p.GetTypecheckCommand())
	if p.MinMutationScore != nil {
		t.Row("Min mutation score:", fmt.Sprintf("%g", p.GetMinMutationScore()))
	}
	if d := p.GetBuildTimeout(); d != nil {
		t.Row("Build timeout:", d.AsDuration().String())
	}
	if d := p.GetTestTimeout(); d != nil {
		t.Row("Test timeout:", d.AsDuration().String())
	}
	if st := p.GetWarmUpState(); st != "" {
		warm := st
		if m := p.GetWarmUpMessage(); m != "" {
			warm += ": " + m
		}
		t.Row("Warm-up:", warm)
	}
	t.Row("Created:", Time(p.GetCreateTime()))
	t.Row("Updated:", Time(p.GetUpdateTime()))
	return t.Flush()
}

// WorkOrders writes one row per work order.
func WorkOrders(w io.Writer, wos []*moosev1.WorkOrder) error {
	t := NewTable(w, "ID", "PROJECT", "STATUS", "CPLX", "SCORE", "TITLE", "CREATED")
	for _, wo := range wos {
		t.Row(wo.GetId(), wo.GetProjectId(), moose.StatusName(wo.GetStatus()),
			strconv.Itoa(int(wo.GetComplexity())), score(wo.GetResult()),
			Truncate(wo.GetTitle(), titleWidth), Time(wo.GetCreateTime()))
	}
	return t.Flush()
}

func score(r *moosev1.WorkOrderResult) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.GetOverallScore())
}

// WorkOrder writes one work order and, when it has one, its latest result.
func WorkOrder(w io.Writer, wo *moosev1.WorkOrder) error {
	t := NewTable(w)
	t.Row("ID:", wo.GetId())
	t.Row("Project:", wo.GetProjectId())
	t.Row("Title:", wo.GetTitle())
	t.Row("Status:", moose.StatusName(wo.GetStatus()))
	t.Row("Complexity:", strconv.Itoa(int(wo.GetComplexity())))
	t.Row("Request ID:", wo.GetRequestId())
	t.Row("Variant:", wo.GetVariantId())
	if d := wo.GetBuildTimeout(); d != nil {
		t.Row("Build timeout:", d.AsDuration().String())
	}
	if d := wo.GetTestTimeout(); d != nil {
		t.Row("Test timeout:", d.AsDuration().String())
	}
	t.Row("Created:", Time(wo.GetCreateTime()))
	t.Row("Updated:", Time(wo.GetUpdateTime()))
	if err := t.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("Description:\n")
	b.WriteString(indent(wo.GetDescription(), "  "))
	b.WriteString("Acceptance criteria:\n")
	if len(wo.GetAcceptanceCriteria()) == 0 {
		b.WriteString("  -\n")
	}
	for i, c := range wo.GetAcceptanceCriteria() {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, strings.ReplaceAll(c, "\n", "\n     "))
	}
	if md := wo.GetMetadata(); len(md) > 0 {
		b.WriteString("Metadata:\n")
		for _, k := range slices.Sorted(maps.Keys(md)) {
			fmt.Fprintf(&b, "  %s=%s\n", k, md[k])
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if r := wo.GetResult(); r != nil {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
		return Result(w, r)
	}
	return nil
}

func indent(s, prefix string) string {
	if strings.TrimSpace(s) == "" {
		return prefix + "-\n"
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(prefix+l, " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

// Result writes a scored outcome: overall score, build and tests, cycles,
// cost, pull request and every dimension with its reasons.
func Result(w io.Writer, r *moosev1.WorkOrderResult) error {
	verdict := "not passed"
	if r.GetPassed() {
		verdict = "passed"
	}
	tests := passFail(r.GetTestsPassed())
	if r.GetTestsTotal() > 0 || r.GetTestsFailed() > 0 {
		tests += fmt.Sprintf(" (%d total, %d failed)", r.GetTestsTotal(), r.GetTestsFailed())
	}
	pr := r.GetPullRequestUrl()
	if r.GetPullRequestNumber() > 0 {
		pr = strings.TrimSpace(fmt.Sprintf("%s (#%d)", pr, r.GetPullRequestNumber()))
	}
	if _, err := io.WriteString(w, "Result:\n"); err != nil {
		return err
	}
	t := NewTable(w)
	t.Row("  Overall score:", fmt.Sprintf("%.1f/10 (%s)", r.GetOverallScore(), verdict))
	t.Row("  Build:", passFail(r.GetBuildPassed()))
	t.Row("  Tests:", tests)
	t.Row("  Cycles:", strconv.Itoa(int(r.GetCycles())))
	cached := ""
	if n := r.GetCacheReadInputTokens(); n > 0 {
		cached += fmt.Sprintf(", %d of them cached", n)
	}
	if n := r.GetCacheWriteInputTokens(); n > 0 {
		cached += fmt.Sprintf(", %d written to cache", n)
	}
	t.Row("  Cost:", fmt.Sprintf("$%.4f (%d input%s, %d output tokens)", r.GetCostUsd(), r.GetInputTokens(), cached, r.GetOutputTokens()))
	t.Row("  Branch:", r.GetBranch())
	t.Row("  Pull request:", pr)
	if r.GetFailureReason() != "" {
		t.Row("  Failure reason:", r.GetFailureReason())
	}
	if err := t.Flush(); err != nil {
		return err
	}
	if len(r.GetDimensions()) == 0 {
		return nil
	}
	// Each further reason goes on its own row with empty leading cells, so
	// reasons stay aligned in their column.
	t = NewTable(w, "  DIMENSION", "SCORE", "WEIGHT", "REASONS")
	for _, d := range r.GetDimensions() {
		reasons := d.GetReasons()
		first := ""
		if len(reasons) > 0 {
			first = reasons[0]
		}
		t.Row("  "+d.GetName(), fmt.Sprintf("%.1f", d.GetScore()), fmt.Sprintf("%.2f", d.GetWeight()), first)
		for _, more := range reasons[min(1, len(reasons)):] {
			t.Continuation("", "", "", more)
		}
	}
	return t.Flush()
}

func passFail(ok bool) string {
	if ok {
		return "passed"
	}
	return "failed"
}

// Events writes a work order's audit trail as a table.
func Events(w io.Writer, events []*moosev1.Event) error {
	t := NewTable(w, "ID", "TIME", "TYPE", "STATUS", "PHASE", "MESSAGE")
	for _, e := range events {
		t.Row(strconv.FormatInt(e.GetId(), 10), Time(e.GetCreateTime()), e.GetType(), transition(e), e.GetPhase(), message(e))
	}
	return t.Flush()
}

// EventLine formats one event on a line of its own, for streams where a
// table cannot be aligned in advance: fixed-width time and type, then what
// happened.
func EventLine(e *moosev1.Event) string {
	parts := []string{fmt.Sprintf("%-20s  %-10s", Time(e.GetCreateTime()), e.GetType())}
	if tr := transition(e); tr != "" {
		parts = append(parts, tr)
	}
	if e.GetPhase() != "" {
		parts = append(parts, "phase="+e.GetPhase())
	}
	if m := message(e); m != "" {
		parts = append(parts, m)
	}
	return strings.TrimRight(oneLine(strings.Join(parts, "  ")), " ")
}

func transition(e *moosev1.Event) string {
	from, to := e.GetFromStatus(), e.GetToStatus()
	switch {
	case from == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED && to == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED:
		return ""
	case from == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED:
		return moose.StatusName(to)
	default:
		return moose.StatusName(from) + " -> " + moose.StatusName(to)
	}
}

// message is the event's text followed by its data, sorted by key, so the
// line is the same on every run.
func message(e *moosev1.Event) string {
	parts := []string{}
	if e.GetMessage() != "" {
		parts = append(parts, e.GetMessage())
	}
	for _, k := range slices.Sorted(maps.Keys(e.GetData())) {
		parts = append(parts, k+"="+e.GetData()[k])
	}
	return strings.Join(parts, " ")
}
