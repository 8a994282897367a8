package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestDeterministicPluginFailureIsNotRetriedFiveTimes: a proposer that
// panics on every call for this work order fails it after the same failure
// twice, not after five attempts with backoff.
func TestDeterministicPluginFailureIsNotRetriedFiveTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin and runs moosed")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "testplugin")
	out, err := exec.Command("go", "build", "-o", bin, "../plugins/internal/testplugin").CombinedOutput()
	require.NoError(t, err, string(out))
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	sum := sha256.Sum256(data)

	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PluginDir = dir }))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err = moosev1.NewPluginServiceClient(c.conn).RegisterPlugin(ctx, &moosev1.RegisterPluginRequest{
		Kind: "proposer", Name: "testplugin", Version: "1.0.0", Command: "testplugin", Sha256: hex.EncodeToString(sum[:])})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "panicky", PluginName: "testplugin"})
	require.NoError(t, err)
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: sampleRepo(t), DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "panic", Complexity: 1, VariantId: v.GetVariant().GetId()})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)
	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	require.NoError(t, err)
	var retries []string
	for {
		resp, err := stream.Recv()
		if err != nil {
			break
		}
		if m := resp.GetEvent().GetMessage(); strings.HasPrefix(m, "attempt ") {
			retries = append(retries, m)
		}
	}
	got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	require.NoError(t, err)
	wo := got.GetWorkOrder()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED, wo.GetStatus())
	require.Len(t, retries, 1, "one retry, then the repeated failure ends it: %v", retries)
	require.Contains(t, wo.GetResult().GetFailureReason(), "the same failure twice in a row")
}

// TestOversizedAnswerIsRefusedAndNotStoredWhole: an answer over the 2 MiB cap
// is a finding, nothing of it is applied, and the attempt keeps only its head.
func TestOversizedAnswerIsRefusedAndNotStoredWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins")
	}
	t.Parallel()
	huge := "strutil/huge.go\n```go\npackage strutil\n\n// " + strings.Repeat("x", 3<<20) + "\n```\n"
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) { c.MaxRefinements = -1 }))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: sampleRepo(t), DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "huge", PluginName: "replay", BaseUrl: writeCassette(t, map[string]string{"huge": huge}), EditFormat: "whole"})
	require.NoError(t, err)
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add a huge file", Complexity: 1,
		VariantId: v.GetVariant().GetId(), Metadata: map[string]string{"replay_key": "huge"}})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)
	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	require.NoError(t, err)
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	require.NoError(t, err)
	require.NotEqual(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, got.GetWorkOrder().GetStatus())
	as, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
	require.NoError(t, err)
	require.Len(t, as.GetAttempts(), 1)
	a := as.GetAttempts()[0]
	require.Less(t, len(a.GetRawProposal()), 128<<10, "the attempt keeps the head only")
	require.Empty(t, a.GetChangedFiles())
	var found bool
	for _, f := range a.GetFindings() {
		if f.GetCategory() == "proposal_too_large" {
			found = true
			require.Contains(t, f.GetMessage(), "over the 2097152-byte limit")
		}
	}
	require.True(t, found, "the size is a finding")
}
