package moose_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// dial starts a real moosed on a fresh database and connects to it.
func dial(t *testing.T) *moose.Client {
	t.Helper()
	srv := servertest.Start(t, servertest.APIOnly())
	c, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithBlock(), moose.WithToken(srv.AdminToken()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func project(t *testing.T, c *moose.Client, name string) *moosev1.Project {
	t.Helper()
	p, err := c.CreateProject(t.Context(), &moosev1.CreateProjectRequest{
		Name: name, RepoUrl: "https://git.example.com/repos/" + name, DefaultBranch: "main", Language: "go",
	})
	require.NoError(t, err)
	return p
}

func workOrder(t *testing.T, c *moose.Client, projectID, title string) *moosev1.WorkOrder {
	t.Helper()
	wo, err := c.CreateWorkOrder(t.Context(), &moosev1.CreateWorkOrderRequest{
		ProjectId: projectID, Title: title, Description: "d", Complexity: 3, AcceptanceCriteria: []string{"works"},
	})
	require.NoError(t, err)
	return wo
}

func TestDialRefusesEmptyAddress(t *testing.T) {
	t.Parallel()
	_, err := moose.Dial(t.Context(), "")
	require.ErrorIs(t, err, moose.ErrEmptyAddr)
}

func TestDialWithBlockHonoursContext(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: WithBlock must give up when ctx ends.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := moose.Dial(ctx, "127.0.0.1:1", moose.WithBlock())
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestProjects(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := t.Context()
	var want []string
	for i := range 5 {
		want = append(want, project(t, c, fmt.Sprintf("p%d", i)).GetId())
	}

	got, err := c.GetProject(ctx, want[2])
	require.NoError(t, err)
	require.Equal(t, "p2", got.GetName())

	first, next, err := c.ListProjects(ctx, moose.Page{Size: 2})
	require.NoError(t, err)
	require.Len(t, first, 2)
	require.NotEmpty(t, next, "more pages remain")

	var all []string
	for p, err := range c.AllProjects(ctx, 2) {
		require.NoError(t, err)
		all = append(all, p.GetId())
	}
	require.Equal(t, want, all, "every project, in creation order, across pages")

	_, err = c.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "p0", RepoUrl: "https://git.example.com/repos/other", DefaultBranch: "main", Language: "go"})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "status.Code sees through the added context: %v", err)
}

func TestWorkOrderLifecycle(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := t.Context()
	p := project(t, c, "calc")
	wo := workOrder(t, c, p.GetId(), "Add Mod")
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, wo.GetStatus())
	require.NotEmpty(t, wo.GetRequestId(), "the client fills in a request id")

	approved, err := c.ApproveWorkOrder(ctx, wo.GetId())
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, approved.GetStatus())

	_, err = c.RetryWorkOrder(ctx, wo.GetId())
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	st := moose.Status(err)
	require.NotNil(t, st)
	require.Contains(t, st.Message(), "approved", "the refusal names the current state")
	require.NotContains(t, st.Message(), "rpc error", "Status unwraps to the server's own message")

	cancelled, err := c.CancelWorkOrder(ctx, wo.GetId(), "not needed")
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, cancelled.GetStatus())

	got, err := c.GetWorkOrder(ctx, wo.GetId())
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, got.GetStatus())

	events, err := c.ListWorkOrderEvents(ctx, wo.GetId())
	require.NoError(t, err)
	var to []moosev1.WorkOrderStatus
	for _, e := range events {
		to = append(to, e.GetToStatus())
	}
	require.Equal(t, []moosev1.WorkOrderStatus{
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED,
	}, to)
}

func TestCreateWorkOrderRequestID(t *testing.T) {
	t.Parallel()
	c := dial(t)
	p := project(t, c, "calc")
	req := &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "t", Complexity: 2, RequestId: "same"}
	a, err := c.CreateWorkOrder(t.Context(), req)
	require.NoError(t, err)
	b, err := c.CreateWorkOrder(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, a.GetId(), b.GetId(), "a repeated request id returns the same work order")

	req.RequestId = ""
	x, err := c.CreateWorkOrder(t.Context(), req)
	require.NoError(t, err)
	y, err := c.CreateWorkOrder(t.Context(), req)
	require.NoError(t, err)
	require.NotEqual(t, x.GetId(), y.GetId(), "generated request ids differ per call")
	require.Empty(t, req.GetRequestId(), "the caller's message is not modified")
}

func TestListWorkOrdersFilterAndPaging(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := t.Context()
	p1, p2 := project(t, c, "one"), project(t, c, "two")
	var inP1 []string
	for i := range 5 {
		inP1 = append(inP1, workOrder(t, c, p1.GetId(), fmt.Sprintf("wo %d", i)).GetId())
	}
	other := workOrder(t, c, p2.GetId(), "elsewhere")
	_, err := c.ApproveWorkOrder(ctx, inP1[1])
	require.NoError(t, err)

	var got []string
	for wo, err := range c.AllWorkOrders(ctx, moose.WorkOrderFilter{ProjectID: p1.GetId()}, 2) {
		require.NoError(t, err)
		got = append(got, wo.GetId())
	}
	require.Equal(t, inP1, got)

	page, next, err := c.ListWorkOrders(ctx, moose.WorkOrderFilter{}, moose.Page{Size: 4})
	require.NoError(t, err)
	require.Len(t, page, 4)
	rest, last, err := c.ListWorkOrders(ctx, moose.WorkOrderFilter{}, moose.Page{Size: 4, Token: next})
	require.NoError(t, err)
	require.Empty(t, last)
	require.Equal(t, other.GetId(), rest[len(rest)-1].GetId())

	approved, _, err := c.ListWorkOrders(ctx, moose.WorkOrderFilter{Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED}, moose.Page{})
	require.NoError(t, err)
	require.Len(t, approved, 1)
	require.Equal(t, inP1[1], approved[0].GetId())
}

func TestFieldViolations(t *testing.T) {
	t.Parallel()
	c := dial(t)
	p := project(t, c, "calc")
	_, err := c.CreateWorkOrder(t.Context(), &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "", Complexity: 11})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	var fields []string
	for _, v := range moose.FieldViolations(err) {
		require.NotEmpty(t, v.Description)
		fields = append(fields, v.Field)
	}
	require.Contains(t, fields, "title")
	require.Contains(t, fields, "complexity")

	require.Nil(t, moose.FieldViolations(errors.New("local")))
	require.Nil(t, moose.Status(nil))
}

func TestWatchEndsAtTerminalState(t *testing.T) {
	t.Parallel()
	c := dial(t)
	ctx := t.Context()
	wo := workOrder(t, c, project(t, c, "calc").GetId(), "Add Mod")

	events := make(chan *moosev1.Event, 16)
	done := make(chan error, 1)
	var final *moosev1.WorkOrder
	go func() {
		var err error
		final, err = c.WatchUntilDone(ctx, wo.GetId(), func(e *moosev1.Event) error {
			events <- e
			return nil
		})
		done <- err
	}()
	// History first: the created event arrives before anything changes.
	first := <-events
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, first.GetToStatus())

	// Then live: the watch sees the approval and the cancellation, and ends.
	_, err := c.ApproveWorkOrder(ctx, wo.GetId())
	require.NoError(t, err)
	_, err = c.CancelWorkOrder(ctx, wo.GetId(), "")
	require.NoError(t, err)
	require.NoError(t, <-done)
	close(events)
	var to []moosev1.WorkOrderStatus
	for e := range events {
		to = append(to, e.GetToStatus())
	}
	require.Equal(t, []moosev1.WorkOrderStatus{
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED,
		moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED,
	}, to)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, final.GetStatus())

	// A finished work order replays its history and ends at once.
	var replay []int64
	for e, err := range c.Watch(ctx, wo.GetId()) {
		require.NoError(t, err)
		replay = append(replay, e.GetId())
	}
	require.Len(t, replay, 3)
	require.True(t, slices.IsSorted(replay))
}

func TestWatchHonoursContext(t *testing.T) {
	t.Parallel()
	c := dial(t)
	wo := workOrder(t, c, project(t, c, "calc").GetId(), "Add Mod")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var n int
	var last error
	for e, err := range c.Watch(ctx, wo.GetId()) {
		if err != nil {
			last = err
			break
		}
		n++
		require.Equal(t, wo.GetId(), e.GetWorkOrderId())
		cancel() // the work order stays pending: only ctx can end this watch
	}
	require.Equal(t, 1, n)
	require.Equal(t, codes.Canceled, status.Code(last), "%v", last)
}

func TestWatchUnknownWorkOrder(t *testing.T) {
	t.Parallel()
	c := dial(t)
	_, err := c.WatchUntilDone(t.Context(), "0193e0c4-0000-7000-8000-00000000dead", func(*moosev1.Event) error { return nil })
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
}

func TestWatchUntilDoneStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	c := dial(t)
	wo := workOrder(t, c, project(t, c, "calc").GetId(), "Add Mod")
	stop := errors.New("stop")
	_, err := c.WatchUntilDone(t.Context(), wo.GetId(), func(*moosev1.Event) error { return stop })
	require.ErrorIs(t, err, stop)
}
