package server_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// spinAnswer adds Spin, whose loop never ends, and a test of it.
const spinAnswer = "strutil/spin.go\n```go\npackage strutil\n\n// Spin returns n.\nfunc Spin(n int) int {\n\tfor n >= 0 {\n\t\tn++\n\t\tif n < 0 {\n\t\t\tn = 0\n\t\t}\n\t}\n\treturn n\n}\n```\n\n" +
	"strutil/spin_test.go\n```go\npackage strutil\n\nimport \"testing\"\n\nfunc TestSpin(t *testing.T) {\n\tif Spin(1) != 1 {\n\t\tt.Fatal(\"Spin(1)\")\n\t}\n}\n```\n"

// TestHungTestEndsAsATimeoutWithinTheWorkOrdersLimit: a proposal whose test
// never returns, under a work order's 10 s test limit, ends as a timeout
// (not a build problem) well before moosed's 5-minute default, and the
// refinement prompt the real openai plugin sends says "timed out".
func TestHungTestEndsAsATimeoutWithinTheWorkOrdersLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins, builds and tests")
	}
	const key = "sk-test-timeouts"
	t.Setenv("OPENAI_API_KEY", key)
	var mu sync.Mutex
	var requests []string
	fake := fakeOpenAI(t, key, spinAnswer, &requests, &mu)
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.BuiltinBaseURLs = map[string][]string{"openai": {fake.URL + "/v1"}}
		c.MaxRefinements = 1
		c.MaxMutants = -1
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: sampleRepo(t), DefaultBranch: "main", Language: "go",
		TestTimeout: durationpb.New(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, time.Hour, p.GetProject().GetTestTimeout().AsDuration())
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: fake.URL + "/v1", Params: map[string]string{"max_attempts": "1"}})
	require.NoError(t, err)

	_, err = c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Spin", Complexity: 2,
		VariantId: v.GetVariant().GetId(), TestTimeout: durationpb.New(100 * time.Millisecond)})
	require.Equal(t, []string{"test_timeout"}, violations(t, err), "a limit under a second is refused")

	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Spin", Complexity: 2,
		Description: "Spin returns n.", VariantId: v.GetVariant().GetId(), TestTimeout: durationpb.New(10 * time.Second)})
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, r.GetWorkOrder().GetTestTimeout().AsDuration())
	id := r.GetWorkOrder().GetId()
	began := time.Now()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)
	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	require.NoError(t, err)
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	took := time.Since(began)
	got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	require.NoError(t, err)
	wo := got.GetWorkOrder()
	require.NotEqual(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus())
	reason := wo.GetResult().GetFailureReason()
	require.Contains(t, reason, "timed out", reason)
	require.Contains(t, reason, "TestSpin", "the hung test is named")
	require.NotContains(t, reason, "may not compile")
	// Two cycles, each a build plus a 10 s test limit: far below one 5-minute default.
	require.Less(t, took, 150*time.Second, "the work order's limit, not the server's, bounded the tests")

	as, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
	require.NoError(t, err)
	require.Len(t, as.GetAttempts(), 2)
	var timeouts int
	for _, f := range as.GetAttempts()[0].GetFindings() {
		if f.GetCategory() == "timeout" {
			timeouts++
		}
	}
	require.Positive(t, timeouts, "the timeout is its own finding category")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, requests, 2)
	require.NotContains(t, requests[0], "timed out")
	require.Contains(t, requests[1], "timed out", "the refinement prompt names the timeout")
	require.True(t, strings.Contains(requests[1], "TestSpin"))
}

// TestExecutionOverItsBudgetFailsOnItsLastAttempt: with a 5 s execution
// budget and two attempts, a proposal whose test never returns (under a
// one-hour test limit) is stopped by the budget twice, and the work order
// ends failed, saying so, instead of staying in progress.
func TestExecutionOverItsBudgetFailsOnItsLastAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins, builds and tests")
	}
	t.Parallel()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.MaxMutants = -1
		c.ExecutionTimeout = 5 * time.Second
		c.MaxAttempts = 2
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: sampleRepo(t), DefaultBranch: "main", Language: "go",
		TestTimeout: durationpb.New(time.Hour)})
	require.NoError(t, err)
	v := replayVariant(t, c, map[string]string{"Add Spin": spinAnswer})
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Spin", Complexity: 2,
		Description: "Spin returns n.", VariantId: v.GetVariant().GetId()})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)
	var wo *moosev1.WorkOrder
	require.Eventually(t, func() bool {
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		wo = got.GetWorkOrder()
		return wo.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED
	}, 2*time.Minute, 200*time.Millisecond, "the work order fails once its attempts are spent: last status %s", wo.GetStatus())
	reason := wo.GetResult().GetFailureReason()
	require.Contains(t, reason, "on its last attempt: execution ran over its time budget (5s)", reason)

	evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
	require.NoError(t, err)
	var overBudget, proposals int
	for _, ev := range evs.GetEvents() {
		t.Logf("%s %s", ev.GetCreateTime().AsTime().Format("15:04:05.000"), ev.GetMessage())
		if strings.Contains(ev.GetMessage(), "attempt 1 of 2 failed: execution ran over its time budget") {
			overBudget++
		}
		if strings.HasPrefix(ev.GetMessage(), "cycle 1: asking variant") {
			proposals++
		}
	}
	require.Equal(t, 1, overBudget, "the first attempt's budget is an event")
	require.Equal(t, 2, proposals, "each attempt proposed once: the hung test never produced a cycle to refine")
}
