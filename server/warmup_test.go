package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestProjectWarmUp: a registered project is warmed up in the background
// (its default branch's tests run three times, sandboxed) and says so on the
// project; its first work order then reuses that baseline instead of
// measuring it. A project whose repository cannot be checked out ends
// "failed" with the reason, and its work orders are unaffected by it.
func TestProjectWarmUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins, builds and tests")
	}
	t.Parallel()
	repo := buggyRepo(t)
	calc := mustRead(t, filepath.Join(repo, "calc/calc.go"))
	fixed := strings.Replace(calc, "\t\treturn n\n\t}\n\treturn n", "\t\treturn -n\n\t}\n\treturn n", 1)
	hiddenTest := "package calc\n\nimport \"testing\"\n\nfunc TestAbsNegative(t *testing.T) {\n\tif Abs(-3) != 3 {\n\t\tt.Fatal(\"Abs is wrong\")\n\t}\n}\n"
	patch := "--- /dev/null\n+++ b/calc/abs_hidden_test.go\n@@ -0,0 +1," + strconv.Itoa(strings.Count(hiddenTest, "\n")) + " @@\n+" +
		strings.ReplaceAll(strings.TrimSuffix(hiddenTest, "\n"), "\n", "\n+") + "\n"
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.MaxRefinements = -1
		c.MaxMutants = -1
		c.WarmProjects = true
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "buggy", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	require.Equal(t, "pending", p.GetProject().GetWarmUpState(), "the warm-up is queued with the project")
	warmed := func(id, want string) *moosev1.Project {
		t.Helper()
		var got *moosev1.Project
		require.Eventually(t, func() bool {
			r, err := c.projects.GetProject(ctx, &moosev1.GetProjectRequest{Id: id})
			require.NoError(t, err)
			got = r.GetProject()
			return got.GetWarmUpState() == want
		}, 3*time.Minute, 100*time.Millisecond, "warm-up %s: last %s %q", want, got.GetWarmUpState(), got.GetWarmUpMessage())
		return got
	}
	ready := warmed(p.GetProject().GetId(), "ready")
	msg := ready.GetWarmUpMessage()
	require.Contains(t, msg, "its tests built", msg)
	require.NotContains(t, msg, "build step failed", msg)
	require.Contains(t, msg, "1 failing, 1 flaky tests over 3 runs", msg)
	require.NotNil(t, ready.GetWarmUpTime())

	// The first work order needs the baseline (FAIL_TO_PASS) and finds it.
	v := replayVariant(t, c, map[string]string{"Fix Abs": fenced("calc/calc.go", fixed)})
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(),
		Title: "Fix Abs", Complexity: 2, Description: "Abs of a negative number must be positive.",
		AcceptanceTestPatch: patch, FailToPass: []string{"calc.TestAbsNegative"}, TestsRequired: proto.Bool(false)})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)
	var wo *moosev1.WorkOrder
	require.Eventually(t, func() bool {
		g, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		wo = g.GetWorkOrder()
		return wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED || wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED ||
			wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW
	}, 3*time.Minute, 100*time.Millisecond)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%v", wo.GetResult())
	require.True(t, wo.GetResult().GetHiddenTests().GetBaseline().GetReused(), "the first work order reuses the warm-up's baseline")
	evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
	require.NoError(t, err)
	for _, e := range evs.GetEvents() {
		require.NotContains(t, e.GetMessage(), "measuring the base commit", "the baseline is not measured again")
	}

	// A directory that is not a repository: the warm-up fails and says why.
	notRepo := filepath.Join(servertest.RepoDir(t), "not-a-repo")
	require.NoError(t, os.MkdirAll(notRepo, 0o755))
	bad, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "not-a-repo", RepoUrl: notRepo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	failed := warmed(bad.GetProject().GetId(), "failed")
	require.Contains(t, failed.GetWarmUpMessage(), "worktree of main", failed.GetWarmUpMessage())
}

// replayVariant creates a variant of the replay plugin answering each work
// order titled with a key of answers with its value.
func replayVariant(t *testing.T, c *clients, answers map[string]string) *moosev1.CreateVariantResponse {
	t.Helper()
	type entry struct {
		Key  string `json:"key"`
		Text string `json:"text"`
	}
	var entries []entry
	for k, text := range answers {
		entries = append(entries, entry{Key: k, Text: text})
	}
	data, err := json.Marshal(map[string]any{"model": "replay-test", "entries": entries})
	require.NoError(t, err)
	cassette := filepath.Join(t.TempDir(), "cassette.yaml")
	require.NoError(t, os.WriteFile(cassette, data, 0o644))
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(context.Background(), &moosev1.CreateVariantRequest{
		Name: "replay-" + strconv.Itoa(len(answers)) + "-" + filepath.Base(filepath.Dir(cassette)), PluginName: "replay", BaseUrl: cassette, EditFormat: "whole"})
	require.NoError(t, err)
	return v
}
