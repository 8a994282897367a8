package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

type clients struct {
	projects moosev1.ProjectServiceClient
	wos      moosev1.WorkOrderServiceClient
	conn     *grpc.ClientConn
	base     string
	// http sends the server's admin token, as conn does.
	http *http.Client
}

// start runs an API-only server: work orders are scheduled but not executed,
// so lifecycle tests see exactly the transitions they make.
func start(t *testing.T, opts ...servertest.Option) *clients {
	t.Helper()
	opts = append([]servertest.Option{servertest.APIOnly()}, opts...)
	return dial(t, servertest.Start(t, opts...))
}

func dial(t *testing.T, srv *servertest.Server) *clients {
	t.Helper()
	conn := srv.Dial(t)
	return &clients{moosev1.NewProjectServiceClient(conn), moosev1.NewWorkOrderServiceClient(conn), conn, srv.HTTPURL(), srv.HTTPClient()}
}

func (c *clients) project(t *testing.T, name string) *moosev1.Project {
	t.Helper()
	resp, err := c.projects.CreateProject(context.Background(), &moosev1.CreateProjectRequest{
		Name: name, RepoUrl: "https://git.example.com/repos/" + name, DefaultBranch: "main", Language: "go",
	})
	require.NoError(t, err)
	return resp.GetProject()
}

func violations(t *testing.T, err error) []string {
	t.Helper()
	st, ok := status.FromError(err)
	require.True(t, ok)
	require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func TestBadWorkOrdersAreRefusedWithEveryFieldNamed(t *testing.T) {
	t.Parallel()
	c := start(t)
	p := c.project(t, "calc")
	ctx := context.Background()
	valid := func() *moosev1.CreateWorkOrderRequest {
		return &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "Add Mod", Complexity: 3, AcceptanceCriteria: []string{"Mod(7,3)==1"}}
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = "criterion"
	}
	cases := []struct {
		name   string
		mutate func(*moosev1.CreateWorkOrderRequest)
		want   []string
	}{
		{"empty title", func(r *moosev1.CreateWorkOrderRequest) { r.Title = "" }, []string{"title"}},
		{"title over 200", func(r *moosev1.CreateWorkOrderRequest) { r.Title = strings.Repeat("t", 201) }, []string{"title"}},
		{"description over 64 KiB", func(r *moosev1.CreateWorkOrderRequest) { r.Description = strings.Repeat("d", 64<<10+1) }, []string{"description"}},
		{"complexity 0", func(r *moosev1.CreateWorkOrderRequest) { r.Complexity = 0 }, []string{"complexity"}},
		{"complexity 11", func(r *moosev1.CreateWorkOrderRequest) { r.Complexity = 11 }, []string{"complexity"}},
		{"51 criteria", func(r *moosev1.CreateWorkOrderRequest) { r.AcceptanceCriteria = many }, []string{"acceptance_criteria"}},
		{"criterion over 2 KiB", func(r *moosev1.CreateWorkOrderRequest) { r.AcceptanceCriteria = []string{strings.Repeat("c", 2049)} }, []string{"acceptance_criteria[0]"}},
		{"malformed project id", func(r *moosev1.CreateWorkOrderRequest) { r.ProjectId = "not-a-uuid" }, []string{"project_id"}},
		{"all at once", func(r *moosev1.CreateWorkOrderRequest) { r.Title, r.Complexity = "", -1 }, []string{"title", "complexity"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := valid()
			tc.mutate(req)
			_, err := c.wos.CreateWorkOrder(ctx, req)
			require.Equal(t, tc.want, violations(t, err))
		})
	}

	t.Run("unknown project", func(t *testing.T) {
		req := valid()
		req.ProjectId = uuid.NewString()
		_, err := c.wos.CreateWorkOrder(ctx, req)
		require.Equal(t, codes.NotFound, status.Code(err))
	})
	t.Run("malformed id on get", func(t *testing.T) {
		_, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: "42"})
		require.Equal(t, []string{"id"}, violations(t, err))
	})
	t.Run("nothing half-written", func(t *testing.T) {
		list, err := c.wos.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{})
		require.NoError(t, err)
		require.Empty(t, list.GetWorkOrders())
	})
	t.Run("duplicate project name", func(t *testing.T) {
		_, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "calc", RepoUrl: "https://git.example.com/x", DefaultBranch: "main", Language: "go"})
		require.Equal(t, codes.AlreadyExists, status.Code(err))
	})
	t.Run("project missing fields", func(t *testing.T) {
		_, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "x"})
		require.Equal(t, []string{"repo_url", "default_branch", "language"}, violations(t, err))
	})
}

func TestLifecycleOverGRPC(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	p := c.project(t, "calc")
	created, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "Add Mod", Complexity: 2, RequestId: "req-1", Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	wo := created.GetWorkOrder()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING, wo.GetStatus())

	again, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "Add Mod", Complexity: 2, RequestId: "req-1"})
	require.NoError(t, err)
	require.Equal(t, wo.GetId(), again.GetWorkOrder().GetId(), "same request id, same work order")

	_, err = c.wos.RetryWorkOrder(ctx, &moosev1.RetryWorkOrderRequest{Id: wo.GetId()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "pending")

	ap, err := c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: wo.GetId()})
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, ap.GetWorkOrder().GetStatus())
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: wo.GetId()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "approved")

	cn, err := c.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: wo.GetId(), Reason: "changed my mind"})
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, cn.GetWorkOrder().GetStatus())
	_, err = c.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: wo.GetId()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))

	evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: wo.GetId()})
	require.NoError(t, err)
	var kinds []string
	for _, e := range evs.GetEvents() {
		kinds = append(kinds, e.GetType()+":"+e.GetToStatus().String())
	}
	require.Equal(t, []string{
		"created:WORK_ORDER_STATUS_PENDING",
		"transition:WORK_ORDER_STATUS_APPROVED",
		"transition:WORK_ORDER_STATUS_CANCELLED",
	}, kinds)
	require.Contains(t, evs.GetEvents()[2].GetMessage(), "changed my mind")

	_, err = c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: uuid.NewString()})
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestListPagingIsStableAndFiltered(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	p1, p2 := c.project(t, "one"), c.project(t, "two")
	var want []string
	for i := range 7 {
		pid := p1.GetId()
		if i%3 == 2 {
			pid = p2.GetId()
		}
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: pid, Title: fmt.Sprintf("wo %d", i), Complexity: 1})
		require.NoError(t, err)
		if pid == p1.GetId() {
			want = append(want, r.GetWorkOrder().GetId())
		}
	}
	_, err := c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: want[0]})
	require.NoError(t, err)

	var got []string
	token := ""
	pages := 0
	for {
		resp, err := c.wos.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{ProjectId: p1.GetId(), PageSize: 2, PageToken: token})
		require.NoError(t, err)
		pages++
		for _, w := range resp.GetWorkOrders() {
			got = append(got, w.GetId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	require.Equal(t, want, got, "creation order, nothing missed or repeated")
	require.Equal(t, 3, pages)

	resp, err := c.wos.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{Status: "approved"})
	require.NoError(t, err)
	require.Len(t, resp.GetWorkOrders(), 1)
	require.Equal(t, want[0], resp.GetWorkOrders()[0].GetId())

	_, err = c.wos.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{PageToken: "garbage!"})
	require.Equal(t, []string{"page_token"}, violations(t, err))
	_, err = c.wos.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{Status: "finished", ProjectId: "nope"})
	require.ElementsMatch(t, []string{"status", "project_id"}, violations(t, err))
}

func TestWatchStreamsHistoryThenLiveAndEnds(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := c.project(t, "calc")
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "watch me", Complexity: 1})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)

	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, "created", first.GetEvent().GetType())
	second, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, second.GetEvent().GetToStatus())

	// Live: the cancel happens after the stream has caught up with history.
	_, err = c.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: id})
	require.NoError(t, err)
	third, err := stream.Recv()
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, third.GetEvent().GetToStatus())
	_, err = stream.Recv()
	require.ErrorIs(t, err, io.EOF, "the stream ends at a terminal state")

	bad, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: uuid.NewString()})
	require.NoError(t, err)
	_, err = bad.Recv()
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestRESTMatchesGRPC(t *testing.T) {
	t.Parallel()
	c := start(t)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
		require.NoError(t, err)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		raw, _ := io.ReadAll(resp.Body)
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return resp.StatusCode, out
	}
	code, body := do("POST", "/v1/projects", `{"name":"calc","repo_url":"https://git.example.com/r/calc","default_branch":"main","language":"go"}`)
	require.Equal(t, 200, code, body)
	pid := body["project"].(map[string]any)["id"].(string)

	code, body = do("POST", "/v1/workorders", `{"project_id":"`+pid+`","title":"Add Mod","complexity":3,"acceptance_criteria":["a","b"],"request_id":"r-1"}`)
	require.Equal(t, 200, code, body)
	wo := body["work_order"].(map[string]any)
	id := wo["id"].(string)
	require.Equal(t, "WORK_ORDER_STATUS_PENDING", wo["status"])
	require.Equal(t, []any{"a", "b"}, wo["acceptance_criteria"])

	code, body = do("POST", "/v1/workorders", `{"project_id":"`+pid+`","title":"Add Mod","complexity":3,"request_id":"r-1"}`)
	require.Equal(t, 200, code)
	require.Equal(t, id, body["work_order"].(map[string]any)["id"], "request_id makes create idempotent over REST too")

	code, body = do("POST", "/v1/workorders", `{"project_id":"`+pid+`","title":"","complexity":11}`)
	require.Equal(t, 400, code)
	require.Contains(t, fmt.Sprint(body["details"]), "title")
	require.Contains(t, fmt.Sprint(body["details"]), "complexity")

	code, body = do("POST", "/v1/workorders", `{"project_id":"`+pid+`","title":"x","complexity":1,"colour":"red"}`)
	require.Equal(t, 400, code, "unknown JSON fields are refused")
	require.Contains(t, body["message"], "colour")
	require.Contains(t, fmt.Sprint(body["details"]), "field:colour", "named as a field violation like every other bad input")
	code, body = do("POST", "/v1/workorders", `{"project_id": "`+pid+`", "title": `)
	require.Equal(t, 400, code, "malformed JSON is refused")
	require.Contains(t, fmt.Sprint(body["details"]), "field:body")

	code, _ = do("GET", "/v1/workorders/"+uuid.NewString(), "")
	require.Equal(t, 404, code)
	code, _ = do("GET", "/v1/workorders/not-an-id", "")
	require.Equal(t, 400, code)

	code, body = do("GET", "/v1/workorders?project_id="+pid+"&status=pending&page_size=10", "")
	require.Equal(t, 200, code)
	require.Len(t, body["work_orders"], 1)

	code, body = do("POST", "/v1/workorders/"+id+":retry", "")
	require.Equal(t, 400, code, "FailedPrecondition maps to 400")
	require.Contains(t, body["message"], "pending")
	code, _ = do("POST", "/v1/workorders/"+id+":approve", "")
	require.Equal(t, 200, code)
	code, body = do("GET", "/v1/workorders/"+id+"/events", "")
	require.Equal(t, 200, code)
	require.Len(t, body["events"], 2)

	// The streamed watch: newline-delimited {"result":...} objects, ending at the terminal state.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = c.wos.CancelWorkOrder(context.Background(), &moosev1.CancelWorkOrderRequest{Id: id})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/workorders/"+id+":watch", nil)
	resp, err := c.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	var statuses []string
	for {
		var line struct {
			Result struct {
				Event struct {
					ToStatus string `json:"to_status"`
				} `json:"event"`
			} `json:"result"`
		}
		if err := dec.Decode(&line); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		statuses = append(statuses, line.Result.Event.ToStatus)
	}
	require.Equal(t, []string{"WORK_ORDER_STATUS_PENDING", "WORK_ORDER_STATUS_APPROVED", "WORK_ORDER_STATUS_CANCELLED"}, statuses)

	resp2, err := http.Get(c.base + "/openapi.json")
	require.NoError(t, err)
	defer resp2.Body.Close()
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp2.Body).Decode(&doc))
	require.Contains(t, doc["paths"], "/v1/workorders")
}

func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	c := start(t)
	resp, err := healthpb.NewHealthClient(c.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
}

// Health answers per service, and /readyz reports the sandbox and the
// plugins beside the database.
func TestHealthPerServiceAndReadiness(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	h := healthpb.NewHealthClient(c.conn)
	for _, svc := range []string{"", "moose.v1.WorkOrderService", "moose.v1.ProjectService"} {
		var resp *healthpb.HealthCheckResponse
		require.Eventually(t, func() bool {
			var err error
			resp, err = h.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
		}, 10*time.Second, 50*time.Millisecond, "service %q: %v", svc, resp)
	}
	_, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "moose.v1.NoSuchService"})
	require.Equal(t, codes.NotFound, status.Code(err), err)

	type readiness struct {
		Status      string         `json:"status"`
		Database    string         `json:"database"`
		Sandbox     string         `json:"sandbox"`
		Plugins     map[string]int `json:"plugins"`
		Unavailable []string       `json:"unavailable_validators"`
	}
	readyz := func(base string) readiness {
		resp, err := http.Get(base + "/readyz")
		require.NoError(t, err)
		defer resp.Body.Close()
		var body readiness
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.Equal(t, http.StatusOK, resp.StatusCode, "%+v", body)
		return body
	}
	// An API-only node runs no plugins.
	body := readyz(c.base)
	require.Equal(t, "ready", body.Status)
	require.Equal(t, "up", body.Database)
	require.Equal(t, "bubblewrap", body.Sandbox, "make test installs bubblewrap")
	require.Empty(t, body.Plugins)

	// An executing node reports its plugins; every validator a cycle runs
	// is registered.
	body = readyz(servertest.Start(t, servertest.WithBuiltinPlugins(t)).HTTPURL())
	n := 0
	for _, c := range body.Plugins {
		n += c
	}
	require.Positive(t, n, "plugins by state: %v", body.Plugins)
	require.Empty(t, body.Unavailable)
}

func TestProjectMutationThresholdIsValidatedAndKept(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	for _, bad := range []float64{-0.1, 1.5} {
		_, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: fmt.Sprintf("bad-%g", bad), RepoUrl: "https://git.example.com/repos/x",
			DefaultBranch: "main", Language: "go", MinMutationScore: &bad})
		require.Equal(t, []string{"min_mutation_score"}, violations(t, err), bad)
	}
	min := 0.8
	r, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "strict", RepoUrl: "https://git.example.com/repos/strict",
		DefaultBranch: "main", Language: "go", MinMutationScore: &min})
	require.NoError(t, err)
	got, err := c.projects.GetProject(ctx, &moosev1.GetProjectRequest{Id: r.GetProject().GetId()})
	require.NoError(t, err)
	require.NotNil(t, got.GetProject().MinMutationScore)
	require.InDelta(t, 0.8, got.GetProject().GetMinMutationScore(), 1e-9)
	require.Nil(t, c.project(t, "default-threshold").MinMutationScore, "unset keeps moosed's default")
}
