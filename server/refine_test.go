package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// refineCassette holds two work orders against examples/go-calc:
//
//   - "Add Double": cycle 1 is a complete, passing change plus a
//     SEARCH/REPLACE block that matches nothing. The block is a finding, yet
//     the change passes every gate, so the work order completes in one cycle.
//   - "Add Half": cycle 1 builds and one test fails; cycle 2 fails to build;
//     cycle 3 breaks worse. The result is cycle 1's, its failure reason names
//     cycle 1's failing test at its file:line, and cycle 1's tree is published.
const refineCassette = `model: test-model
entries:
  - key: Add Double
    cycle: 1
    text: |
      strutil/double.go
      ` + "```go" + `
      package strutil

      // Double returns s twice.
      func Double(s string) string { return s + s }
      ` + "```" + `

      strutil/double_test.go
      ` + "```go" + `
      package strutil

      import "testing"

      func TestDouble(t *testing.T) {
      	if got := Double("ab"); got != "abab" {
      		t.Fatalf("got %q", got)
      	}
      }
      ` + "```" + `

      strutil/strutil.go
      ` + "```go" + `
      <<<<<<< SEARCH
      this line is not in the file
      =======
      nor is this one
      >>>>>>> REPLACE
      ` + "```" + `
  - key: Add Half
    cycle: 1
    text: |
      strutil/half.go
      ` + "```go" + `
      package strutil

      // Half returns the first half of s.
      func Half(s string) string { return s[:len(s)/2+1] }
      ` + "```" + `

      strutil/half_test.go
      ` + "```go" + `
      package strutil

      import "testing"

      func TestHalf(t *testing.T) {
      	if got := Half("abcd"); got != "ab" {
      		t.Errorf("Half(abcd) = %q, want ab", got)
      	}
      }
      ` + "```" + `
  - key: Add Half
    cycle: 2
    text: |
      strutil/half.go
      ` + "```go" + `
      package strutil

      // Half returns the first half of s.
      func Half(s string) string { return s[:len(s)/2] + undefinedHelper() }
      ` + "```" + `
  - key: Add Half
    cycle: 3
    text: |
      strutil/half.go
      ` + "```go" + `
      package strutil

      func Half(s string) string {
      ` + "```" + `
`

func TestRefinementKeepsTheBestCycle(t *testing.T) {
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
	require.NoError(t, os.WriteFile(cassette, []byte(refineCassette), 0o644))
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "replay-refine", PluginName: "replay", BaseUrl: cassette, EditFormat: "whole"})
	require.NoError(t, err)
	setTier(t, srv, "cheap", v.GetVariant().GetId())

	run := func(title string) string {
		r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: title, Complexity: 2,
			Description: "see title", AcceptanceCriteria: []string{"has tests"}})
		require.NoError(t, err)
		_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		return r.GetWorkOrder().GetId()
	}
	wait := func(id string) *moosev1.WorkOrder {
		stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		require.NoError(t, err)
		for {
			resp, err := stream.Recv()
			if err != nil {
				break
			}
			t.Logf("%s %s %s", id[:8], resp.GetEvent().GetPhase(), resp.GetEvent().GetMessage())
		}
		got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
		require.NoError(t, err)
		return got.GetWorkOrder()
	}
	attempts := func(id string) []*moosev1.Attempt {
		resp, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
		require.NoError(t, err)
		return resp.GetAttempts()
	}
	double, half := run("Add Double"), run("Add Half")

	d := wait(double)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, d.GetStatus(), "%+v", d.GetResult())
	require.Equal(t, int32(1), d.GetResult().GetCycles(), "a passing change is not refined because of one block that did not apply")
	as := attempts(double)
	require.Len(t, as, 1)
	var editFindings int
	for _, f := range as[0].GetFindings() {
		if f.GetSource() == "edit" {
			editFindings++
		}
	}
	require.Equal(t, 1, editFindings, "the block that did not apply is still reported")

	h := wait(half)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW, h.GetStatus(), "%+v", h.GetResult())
	require.Equal(t, int32(3), h.GetResult().GetCycles())
	reason := h.GetResult().GetFailureReason()
	require.Contains(t, reason, "cycle 1")
	require.Contains(t, reason, "TestHalf")
	require.Contains(t, reason, "strutil/half_test.go:7", "the decisive failure names its file:line")
	require.NotContains(t, reason, "build did not run")
	require.True(t, h.GetResult().GetBuildPassed(), "cycle 1 built")
	ha := attempts(half)
	require.Len(t, ha, 3, "attempts keep every cycle")
	require.False(t, ha[0].GetTestsPassed(), "cycle 1 had a failing test")
	for _, v := range ha[0].GetValidations() {
		require.Positive(t, v.GetDurationMs(), "%s's duration is measured", v.GetValidator())
	}
	// The published branch holds cycle 1's tree, not cycle 3's broken one.
	got, err := exec.Command("git", "-C", repo, "show", h.GetResult().GetBranch()+":strutil/half.go").Output()
	require.NoError(t, err)
	require.Contains(t, string(got), "s[:len(s)/2+1]")
	require.False(t, strings.Contains(string(got), "undefinedHelper"))
}
