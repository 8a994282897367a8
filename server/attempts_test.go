package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// attemptsCassette answers "Add Twice" with a compile error (strings used but
// not imported) and then with the fix, so the work order has two attempts.
const attemptsCassette = `model: test-model
entries:
  - key: Add Twice
    cycle: 1
    input_tokens: 700
    output_tokens: 120
    text: |
      strutil/twice.go
      ` + "```go" + `
      package strutil

      // Twice joins two copies of s with sep.
      func Twice(s, sep string) string {
      	return strings.Join([]string{s, s}, sep)
      }
      ` + "```" + `

      strutil/twice_test.go
      ` + "```go" + `
      package strutil

      import "testing"

      func TestTwice(t *testing.T) {
      	if got := Twice("ab", "-"); got != "ab-ab" {
      		t.Fatalf("got %q", got)
      	}
      }
      ` + "```" + `
  - key: Add Twice
    cycle: 2
    input_tokens: 1100
    output_tokens: 130
    text: |
      strutil/twice.go
      ` + "```go" + `
      package strutil

      import "strings"

      // Twice joins two copies of s with sep.
      func Twice(s, sep string) string {
      	return strings.Join([]string{s, s}, sep)
      }
      ` + "```" + `
`

func TestAttemptsShowEveryCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real builds and tests")
	}
	t.Parallel()
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	cassette := filepath.Join(t.TempDir(), "cassette.yaml")
	require.NoError(t, os.WriteFile(cassette, []byte(attemptsCassette), 0o644))
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: sampleRepo(t), DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	v, err := moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{
		Name: "replay-attempts", PluginName: "replay", BaseUrl: cassette, EditFormat: "whole",
		InputPricePerMtok: 0.15, OutputPricePerMtok: 0.60,
	})
	require.NoError(t, err)
	cr, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Twice",
		Complexity: 2, Description: "see title", AcceptanceCriteria: []string{"has tests"}, VariantId: v.GetVariant().GetId()})
	require.NoError(t, err)
	id := cr.GetWorkOrder().GetId()

	// Before it runs a work order has no attempts, which is not an error.
	none, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
	require.NoError(t, err)
	require.Empty(t, none.GetAttempts())

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
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, got.GetWorkOrder().GetStatus(), "%v", got.GetWorkOrder().GetResult())

	resp, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
	require.NoError(t, err)
	as := resp.GetAttempts()
	require.Len(t, as, 2)

	first, second := as[0], as[1]
	require.Equal(t, []int32{1, 2}, []int32{first.GetCycle(), second.GetCycle()})
	require.Equal(t, []int32{1, 1}, []int32{first.GetExecution(), second.GetExecution()})
	require.Equal(t, v.GetVariant().GetId(), first.GetVariantId())
	require.Equal(t, "test-model", first.GetModel())
	require.Contains(t, first.GetRawProposal(), "strings.Join")
	require.NotContains(t, first.GetRawProposal(), `import "strings"`)
	require.Equal(t, int64(700), first.GetInputTokens())
	require.Equal(t, int64(120), first.GetOutputTokens())
	require.InDelta(t, (700*0.15+120*0.60)/1e6, first.GetCostUsd(), 1e-12)
	require.False(t, first.GetBuildPassed())
	require.False(t, first.GetScorePassed())
	require.ElementsMatch(t, []string{"strutil/twice.go", "strutil/twice_test.go"}, first.GetChangedFiles())
	var undefined *moosev1.AttemptFinding
	for _, f := range first.GetFindings() {
		if strings.Contains(f.GetMessage(), "undefined: strings") {
			undefined = f
		}
	}
	require.NotNil(t, undefined, "cycle 1 findings: %v", first.GetFindings())
	require.Contains(t, []string{"undefined_symbol", "missing_import"}, undefined.GetCategory())
	require.Equal(t, "strutil/twice.go", undefined.GetFile())
	require.NotEmpty(t, first.GetValidations())
	for _, r := range first.GetValidations() {
		require.LessOrEqual(t, len(r.GetLog()), 8<<10+len("…"), "logs are trimmed")
	}

	require.True(t, second.GetBuildPassed())
	require.True(t, second.GetTestsPassed())
	require.True(t, second.GetScored())
	require.True(t, second.GetScorePassed())
	require.GreaterOrEqual(t, second.GetOverallScore(), 7.0)
	require.Len(t, second.GetDimensions(), 5)
	require.Empty(t, second.GetGate())
	require.Equal(t, int64(1100), second.GetInputTokens())
	require.Contains(t, second.GetRawProposal(), `import "strings"`)

	// REST serves the same attempts.
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
		require.NoError(t, err)
		r, err := c.http.Do(req)
		require.NoError(t, err)
		defer r.Body.Close()
		raw, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return r.StatusCode, out
	}
	code, body := get("/v1/workorders/" + id + "/attempts")
	require.Equal(t, http.StatusOK, code, body)
	rest := body["attempts"].([]any)
	require.Len(t, rest, 2)
	r1, r2 := rest[0].(map[string]any), rest[1].(map[string]any)
	require.Equal(t, first.GetId(), r1["id"])
	require.Equal(t, false, r1["build_passed"])
	require.Contains(t, mustJSON(t, r1["findings"]), "undefined: strings")
	require.Equal(t, true, r2["build_passed"])
	require.InDelta(t, second.GetOverallScore(), r2["overall_score"], 1e-9)

	code, _ = get("/v1/workorders/not-a-uuid/attempts")
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = get("/v1/workorders/" + uuid.NewString() + "/attempts")
	require.Equal(t, http.StatusNotFound, code)

	_, err = c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: uuid.NewString()})
	require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
	_, err = c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: "nope"})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
