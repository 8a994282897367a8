package moose_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func TestLoadSuiteChecksAndIdentifiesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	good := write("good.yaml", "project: {name: calc, language: go, path: examples/go-calc}\nwork_orders:\n  - {title: Add Mod, complexity: 2}\n")
	s, err := moose.LoadSuite(good)
	require.NoError(t, err)
	require.Equal(t, "main", s.Project.DefaultBranch, "default branch defaults to main")
	again, err := moose.LoadSuite(good)
	require.NoError(t, err)
	require.Equal(t, s.Hash, again.Hash, "the hash is the content's")

	req := s.Request("p1", "improved", 0)
	require.Equal(t, "improved", req.GetVariantId())
	require.Equal(t, "suite-"+s.Hash+"-improved-0", req.GetRequestId(), "request ids make a re-run idempotent")
	require.Equal(t, s.Hash, req.GetMetadata()["suite"])

	_, err = moose.LoadSuite(write("typo.yaml", "project: {name: calc, language: go}\nwork_orders:\n  - {title: x, complexity: 1, complexty: 2}\n"))
	require.ErrorContains(t, err, "complexty")
	_, err = moose.LoadSuite(write("empty.yaml", "project: {name: calc, language: go}\nwork_orders: []\n"))
	require.ErrorContains(t, err, "no work orders")
}

func TestSummarizeAndFailureCategories(t *testing.T) {
	t.Parallel()
	done := moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED
	review := moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW
	wos := []*moosev1.WorkOrder{
		{Id: "a", Status: done, Result: &moosev1.WorkOrderResult{Passed: true, BuildPassed: true, TestsPassed: true, OverallScore: 9, Cycles: 2, CostUsd: 0.02,
			Dimensions: []*moosev1.DimensionScore{{Name: "completeness", Score: 10}}}},
		{Id: "b", Status: review, Result: &moosev1.WorkOrderResult{BuildPassed: true, OverallScore: 5, Cycles: 3, CostUsd: 0.01,
			Dimensions: []*moosev1.DimensionScore{{Name: "completeness", Score: 2}}}},
		{Id: "c", Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED},
	}
	s := moose.Summarize("v", wos)
	require.Equal(t, 3, s.WorkOrders)
	require.Equal(t, 2, s.BuildsPassed)
	require.Equal(t, 1, s.Passed)
	require.Equal(t, 1, s.FixedByRefine)
	require.Equal(t, 1, s.Failed)
	require.InDelta(t, 14.0/3, s.MeanScore, 1e-9, "unfinished work orders count as 0")
	require.InDelta(t, 4.0, s.MeanDimension["completeness"], 1e-9)
	require.InDelta(t, 0.03, s.CostPerAccepted(), 1e-12)
	require.True(t, math.IsInf(moose.Summarize("none", wos[1:]).CostPerAccepted(), 1))

	s.CountFailures(wos, map[string][]*moosev1.Attempt{
		"b": {
			{Execution: 1, Cycle: 1, Findings: []*moosev1.AttemptFinding{{Category: "missing_import"}}},
			{Execution: 1, Cycle: 3, Findings: []*moosev1.AttemptFinding{{Category: "todo"}, {Category: "todo"}, {Category: "stub"}}},
			{Execution: 1, Cycle: 4, Shadow: true, Findings: []*moosev1.AttemptFinding{{Category: "shadow_only"}}},
		},
	})
	require.Equal(t, map[string]int{"todo": 1, "stub": 1, "system_failure": 1}, s.FailureCategories,
		"final non-shadow attempt only, one count per category per work order, passed ones ignored")
	require.Equal(t, []string{"stub", "system_failure", "todo"}, moose.FailureNames([]moose.VariantSummary{s}))
}

func TestSummarizeCountsHiddenTests(t *testing.T) {
	wo := func(ran, passed bool) *moosev1.WorkOrder {
		return &moosev1.WorkOrder{Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, Result: &moosev1.WorkOrderResult{
			HiddenTests: &moosev1.HiddenTestsReport{Ran: ran, Passed: passed, Tests: []*moosev1.HiddenTestOutcome{{Id: "a.TestX"}}}}}
	}
	s := moose.Summarize("v", []*moosev1.WorkOrder{wo(true, true), wo(true, false), wo(false, false), {Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED}})
	require.Equal(t, 2, s.HiddenRan)
	require.Equal(t, 1, s.HiddenPassed)
}
