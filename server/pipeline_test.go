package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// sampleRepo makes a real git repository from examples/go-calc.
func sampleRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(servertest.RepoDir(t), "go-calc")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../examples/go-calc")))
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "sample"},
	} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	return dir
}

const pipelineCassette = `model: test-model
entries:
  - key: Add Capitalize
    cycle: 1
    input_tokens: 1000
    output_tokens: 200
    text: |
      Here is the change.

      strutil/capitalize.go
      ` + "```go" + `
      package strutil

      import "strings"

      // Capitalize upper-cases the first letter of every word.
      func Capitalize(s string) string {
      	words := strings.Fields(s)
      	for i, w := range words {
      		words[i] = strings.ToUpper(w[:1]) + w[1:]
      	}
      	return strings.Join(words, " ")
      }
      ` + "```" + `

      strutil/capitalize_test.go
      ` + "```go" + `
      package strutil

      import "testing"

      func TestCapitalize(t *testing.T) {
      	for in, want := range map[string]string{"hello world": "Hello World", "": "", "a": "A"} {
      		if got := Capitalize(in); got != want {
      			t.Errorf("Capitalize(%q) = %q, want %q", in, got, want)
      		}
      	}
      }
      ` + "```" + `
  - key: Add Repeat
    cycle: 1
    input_tokens: 900
    output_tokens: 150
    text: |
      strutil/repeat.go
      ` + "```go" + `
      package strutil

      // Repeat joins n copies of s with sep.
      func Repeat(s, sep string, n int) string {
      	parts := make([]string, n)
      	for i := range parts {
      		parts[i] = s
      	}
      	return strings.Join(parts, sep)
      }
      ` + "```" + `

      strutil/repeat_test.go
      ` + "```go" + `
      package strutil

      import "testing"

      func TestRepeat(t *testing.T) {
      	if got := Repeat("ab", "-", 3); got != "ab-ab-ab" {
      		t.Fatalf("got %q", got)
      	}
      }
      ` + "```" + `
  - key: Add Repeat
    cycle: 2
    input_tokens: 1400
    output_tokens: 160
    text: |
      strutil/repeat.go
      ` + "```go" + `
      package strutil

      import "strings"

      // Repeat joins n copies of s with sep.
      func Repeat(s, sep string, n int) string {
      	parts := make([]string, n)
      	for i := range parts {
      		parts[i] = s
      	}
      	return strings.Join(parts, sep)
      }
      ` + "```" + `
  - key: Add Slugify
    input_tokens: 800
    output_tokens: 60
    text: |
      strutil/slug.go
      ` + "```go" + `
      package strutil

      // Slugify turns a title into a URL slug.
      func Slugify(s string) string {
      	// TODO: implement
      	panic("not implemented")
      }
      ` + "```" + `
`

func TestPipelineProvesRefinesAndScores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds and tests")
	}
	t.Parallel()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	repo := sampleRepo(t)
	cassette := filepath.Join(t.TempDir(), "cassette.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(pipelineCassette), 0o644))

	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	variants := moosev1.NewVariantServiceClient(c.conn)
	v, err := variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "replay-test", PluginName: "replay", BaseUrl: cassette, EditFormat: "whole",
		InputPricePerMtok: 0.15, OutputPricePerMtok: 0.60,
	})
	require.NoError(t, err)
	setTier(t, srv, "cheap", v.GetVariant().GetId())

	run := func(title string) *moosev1.WorkOrder {
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: title, Complexity: 2,
			Description: "see title", AcceptanceCriteria: []string{"has tests"}})
		require.NoError(t, err)
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		return r.GetWorkOrder()
	}
	wait := func(id string) *moosev1.WorkOrder {
		stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		require.NoError(t, err)
		for {
			resp, err := stream.Recv()
			if err != nil {
				break
			}
			e := resp.GetEvent()
			t.Logf("%s %s %s %s", id[:8], e.GetPhase(), e.GetToStatus(), e.GetMessage())
		}
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return got.GetWorkOrder()
	}
	good, refined, skeletal := run("Add Capitalize"), run("Add Repeat"), run("Add Slugify")

	g := wait(good.GetId())
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, g.GetStatus(), "%+v", g.GetResult())
	require.True(t, g.GetResult().GetBuildPassed())
	require.True(t, g.GetResult().GetTestsPassed())
	require.GreaterOrEqual(t, g.GetResult().GetOverallScore(), 7.0)
	require.Equal(t, int32(1), g.GetResult().GetCycles())
	require.Len(t, g.GetResult().GetDimensions(), 5)
	require.InDelta(t, (1000*0.15+200*0.60)/1e6, g.GetResult().GetCostUsd(), 1e-12, "cost = tokens × the variant's prices")
	require.Equal(t, v.GetVariant().GetId(), g.GetVariantId())
	// Published: a branch on the project's repository holding exactly the change.
	branch := g.GetResult().GetBranch()
	require.Equal(t, "moose/wo-"+good.GetId()[:8], branch)
	files, err := exec.Command("git", "-C", repo, "diff", "--name-only", "main", branch).Output()
	require.NoError(t, err)
	require.Equal(t, "strutil/capitalize.go\nstrutil/capitalize_test.go\n", string(files))

	r := wait(refined.GetId())
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, r.GetStatus(), "%+v", r.GetResult())
	require.Equal(t, int32(2), r.GetResult().GetCycles(), "the compile error went back and was fixed")
	require.InDelta(t, ((900+1400)*0.15+(150+160)*0.60)/1e6, r.GetResult().GetCostUsd(), 1e-12, "every cycle is paid for")
	evs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: refined.GetId()})
	require.NoError(t, err)
	var phases []string
	for _, e := range evs.GetEvents() {
		if e.GetPhase() != "" {
			phases = append(phases, e.GetPhase())
		}
	}
	require.Contains(t, phases, "refining")
	for _, want := range []string{"routing", "workspace", "proposing", "applying", "validating", "scoring"} {
		require.Contains(t, phases, want)
	}

	s := wait(skeletal.GetId())
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW, s.GetStatus())
	require.Less(t, s.GetResult().GetOverallScore(), 7.0)
	require.Equal(t, int32(3), s.GetResult().GetCycles(), "1 + 2 refinements")
	var reasons []string
	for _, d := range s.GetResult().GetDimensions() {
		reasons = append(reasons, d.GetReasons()...)
	}
	require.Contains(t, strings.Join(reasons, "\n"), "not-implemented stub")

	// The cheap model repeats itself: cycles 2 and 3 produce the tree cycle 1
	// did, and its validation is reused instead of rebuilt.
	sevs, err := c.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: skeletal.GetId()})
	require.NoError(t, err)
	reused := 0
	for _, e := range sevs.GetEvents() {
		if strings.Contains(e.GetMessage(), "identical tree validated before") {
			reused++
		}
	}
	require.Equal(t, 2, reused)

	// What the three executions did shows in /metrics (admin scope only).
	body := scrape(t, srv, srv.AdminToken(), http.StatusOK)
	require.Equal(t, 2.0, metricValue(t, body, `moose_work_orders{status="completed"}`))
	require.Equal(t, 1.0, metricValue(t, body, `moose_work_orders{status="needs_review"}`))
	require.Equal(t, 6.0, metricValue(t, body, `moose_plugin_calls_total{code="OK",method="Propose",plugin="replay"}`), "1 + 2 + 3 cycles")
	require.GreaterOrEqual(t, metricValue(t, body, `moose_validations_total{outcome="passed",validator="build"}`), 2.0)
	require.GreaterOrEqual(t, metricValue(t, body, `moose_validations_total{outcome="failed",validator="build"}`), 1.0, "the compile error")
	require.Equal(t, 2.0, metricValue(t, body, `moose_executions_finished_total{outcome="accepted",variant="replay-test"}`))
	require.Equal(t, 1.0, metricValue(t, body, `moose_executions_finished_total{outcome="rejected",variant="replay-test"}`))
	require.InDelta(t, r.GetResult().GetCostUsd()+g.GetResult().GetCostUsd(),
		metricValue(t, body, `moose_executions_cost_dollars_total{outcome="accepted",variant="replay-test"}`), 1e-12)
	require.Equal(t, float64(1000+900+1400+3*800), metricValue(t, body, `moose_proposal_tokens_total{direction="input",variant="replay-test"}`))
	require.Equal(t, 1.0, metricValue(t, body, `moose_nodes`))
	require.Equal(t, 1.0, metricValue(t, body, `moose_database_up`))
	scrape(t, srv, "", http.StatusUnauthorized)
	scrape(t, srv, srv.Token(t, "read"), http.StatusForbidden)
}

// scrape GETs /metrics with token and wants status code.
func scrape(t *testing.T, srv *servertest.Server, token string, code int) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.HTTPURL()+"/metrics", nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, code, resp.StatusCode, string(raw))
	return string(raw)
}

// metricValue is the value of series (name{labels} as the exposition
// format prints it) in body.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(t, err, line)
			return f
		}
	}
	t.Fatalf("no series %s in /metrics:\n%s", series, body)
	return 0
}

// TestPipelineTypeScriptProject proves the node preset end to end: the
// dependencies are installed once with the network (npm ci --ignore-scripts),
// then tsc and vitest run in the sandbox without it.
func TestPipelineTypeScriptProject(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages and runs real builds and tests")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	t.Parallel()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir := filepath.Join(servertest.RepoDir(t), "node-strings")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../examples/node-strings")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "node_modules")))
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "sample"}} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "node-strings", RepoUrl: dir, DefaultBranch: "main", Language: "typescript"})
	require.NoError(t, err)
	require.Equal(t, "node", p.GetProject().GetPreset())
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "improved", PluginName: "replay", BaseUrl: "../examples/cassettes/improved.yaml"})
	require.NoError(t, err)
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(),
		Title: "Add camelCase and kebabCase conversions to node-strings", Complexity: 2})
	require.NoError(t, err)
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	res := got.GetWorkOrder().GetResult()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, got.GetWorkOrder().GetStatus(), "%v", res)
	require.True(t, res.GetBuildPassed())
	require.True(t, res.GetTestsPassed())
	require.Greater(t, res.GetTestsTotal(), int32(7), "the sample's own tests plus the new ones ran")
}
