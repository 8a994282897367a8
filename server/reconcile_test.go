package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestReconcilerRepairsStuckWorkOrders leaves a work order in progress with
// no live job, the state a lost job completion or a bug would leave, and
// checks that the reconciler repairs it: re-queued while attempts remain
// (the execution resumes from its stored cycle and finishes), failed with
// the reason once they are spent; each repair is an event.
func TestReconcilerRepairsStuckWorkOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds and tests")
	}
	t.Parallel()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) { c.NodeLease = time.Second }))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pool := srv.Server().Pool()

	repo := sampleRepo(t)
	cassette := filepath.Join(t.TempDir(), "cassette.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(pipelineCassette), 0o644))
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "replay-test", PluginName: "replay", BaseUrl: cassette, EditFormat: "whole"})
	require.NoError(t, err)
	setTier(t, srv, "cheap", v.GetVariant().GetId())
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Capitalize", Complexity: 2,
		Description: "see title", AcceptanceCriteria: []string{"has tests"}})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)

	status := func() *moosev1.WorkOrder {
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return got.GetWorkOrder()
	}
	waitStatus := func(want moosev1.WorkOrderStatus, what string) *moosev1.WorkOrder {
		t.Helper()
		var wo *moosev1.WorkOrder
		require.Eventually(t, func() bool { wo = status(); return wo.GetStatus() == want }, 3*time.Minute, 100*time.Millisecond,
			"%s: last status %s", what, wo.GetStatus())
		return wo
	}
	reconciled := func() []string {
		evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
		require.NoError(t, err)
		var msgs []string
		for _, e := range evs.GetEvents() {
			if e.GetData()["reconciled"] == "true" {
				msgs = append(msgs, e.GetMessage())
			}
		}
		return msgs
	}
	waitStatus(moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, "the work order completes")
	require.Empty(t, reconciled(), "a healthy execution needs no repair")

	// In progress again, with its job completed and quiet for an hour.
	stick := func(jobSQL string) {
		t.Helper()
		_, err := pool.Exec(ctx, `UPDATE work_orders SET status = 'in_progress', result = NULL, updated_at = now() - interval '1 hour' WHERE id = $1`, id)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, jobSQL+` WHERE id = (SELECT job_id FROM work_orders WHERE id = $1)`, id)
		require.NoError(t, err)
	}
	stick(`UPDATE river_job SET state = 'completed', finalized_at = now() - interval '1 hour'`)
	wo := waitStatus(moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, "the re-queued execution finishes")
	require.True(t, wo.GetResult().GetTestsPassed(), "%+v", wo.GetResult())
	msgs := reconciled()
	require.Len(t, msgs, 1, "one repair")
	require.Contains(t, msgs[0], "re-queued")

	// Once the attempts are spent the reconciler fails it, saying why.
	stick(`UPDATE river_job SET state = 'discarded', attempt = max_attempts, finalized_at = now() - interval '1 hour'`)
	wo = waitStatus(moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED, "the reconciler fails the work order")
	require.Contains(t, wo.GetResult().GetFailureReason(), "ended without a result after its last attempt")
	msgs = reconciled()
	require.Len(t, msgs, 2)
	require.True(t, strings.HasPrefix(msgs[1], "the reconciler failed the work order"), msgs[1])
}
