package api_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/workorder"
)

// TestSpecHandler decomposes the example spec with the real replay architect
// (built and launched through the plugin host) into pending work orders.
func TestSpecHandler(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "moose-plugin-architect-replay"),
		"github.com/moosehq/moose/plugins/architect-replay").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, pluginhost.WriteManifest(dir, "moose-plugin-architect-replay"))
	host, err := pluginhost.New(pluginhost.Config{Dir: dir, DataDir: t.TempDir()})
	require.NoError(t, err)
	require.NoError(t, host.Start(ctx))
	t.Cleanup(func() { _ = host.Close(context.Background()) })
	_, err = host.RegisterBuiltins(ctx, dir)
	require.NoError(t, err)

	svc := workorder.NewService(dbtest.New(t), nil)
	project, err := svc.CreateProject(ctx, workorder.Project{Name: "go-calc", RepoURL: "https://example.com/go-calc.git", DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	h := api.NewSpecHandler(host, svc, slog.New(slog.NewTextHandler(testLog{t}, nil)))

	spec, err := os.ReadFile("../../../examples/specs/calc-features.md")
	require.NoError(t, err)
	cassette, err := filepath.Abs("../../../examples/cassettes/architect.yaml")
	require.NoError(t, err)
	req := &moosev1.DecomposeSpecRequest{ProjectId: project.ID.String(), Spec: string(spec), SpecName: "calc-features.md",
		BaseUrl: cassette, RequestId: "calc-spec"}

	dry := &moosev1.DecomposeSpecRequest{ProjectId: req.ProjectId, Spec: req.Spec, BaseUrl: cassette, DryRun: true}
	plan, err := h.DecomposeSpec(ctx, dry)
	require.NoError(t, err)
	require.Len(t, plan.GetWorkOrders(), 4)
	require.Empty(t, plan.GetWorkOrders()[0].GetId())
	listed, _, err := svc.List(ctx, workorder.Filter{ProjectID: project.ID})
	require.NoError(t, err)
	require.Empty(t, listed, "a dry run creates nothing")

	resp, err := h.DecomposeSpec(ctx, req)
	require.NoError(t, err)
	require.Len(t, resp.GetWorkOrders(), 4)
	require.Equal(t, "gpt-4o-mini", resp.GetModel())
	require.EqualValues(t, 1184, resp.GetInputTokens())
	for i, wo := range resp.GetWorkOrders() {
		require.NotEmpty(t, wo.GetId())
		require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, wo.GetStatus())
		require.Equal(t, resp.GetSpecSha256(), wo.GetMetadata()["spec_sha256"])
		require.Equal(t, "calc-features.md", wo.GetMetadata()["spec_name"])
		require.Equal(t, "architect-replay", wo.GetMetadata()["architect"])
		require.Equal(t, plan.GetWorkOrders()[i].GetTitle(), wo.GetTitle())
	}
	require.Equal(t, "Support the modulo operator % in calc.Eval", resp.GetWorkOrders()[0].GetTitle())
	require.EqualValues(t, 7, resp.GetWorkOrders()[2].GetComplexity())

	again, err := h.DecomposeSpec(ctx, req)
	require.NoError(t, err)
	require.Equal(t, resp.GetWorkOrders()[3].GetId(), again.GetWorkOrders()[3].GetId(), "the request id makes it idempotent")
	listed, _, err = svc.List(ctx, workorder.Filter{ProjectID: project.ID})
	require.NoError(t, err)
	require.Len(t, listed, 4)

	_, err = h.DecomposeSpec(ctx, &moosev1.DecomposeSpecRequest{ProjectId: project.ID.String(), Spec: "# Unknown\n", BaseUrl: cassette})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	_, err = h.DecomposeSpec(ctx, &moosev1.DecomposeSpecRequest{ProjectId: project.ID.String(), Spec: "x", Architect: "nope", BaseUrl: cassette})
	require.Equal(t, codes.NotFound, status.Code(err))
	v := violations(t, func() error {
		_, err := h.DecomposeSpec(ctx, &moosev1.DecomposeSpecRequest{ProjectId: "x"})
		return err
	}())
	require.Contains(t, v, "project_id")
	require.Contains(t, v, "spec")
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
