package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestAnthropicPromptCacheIsCostedPerAttempt drives the real anthropic plugin
// through the pipeline against a server speaking the messages API, whose
// usage reports cache reads and writes: the request marks its stable prefix
// with cache_control, and the stored attempt (and the work order's result)
// keeps the cache counts and is costed at the cache rates (reads 0.1x the
// input price, writes 1.25x), not at the full input price.
func TestAnthropicPromptCacheIsCostedPerAttempt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins, builds and tests")
	}
	const key = "sk-ant-test-cache-key"
	t.Setenv("ANTHROPIC_API_KEY", key)
	answer := "strutil/shout.go\n```go\npackage strutil\n\nimport \"strings\"\n\n// Shout upper-cases s and adds an exclamation mark.\nfunc Shout(s string) string { return strings.ToUpper(s) + \"!\" }\n```\n\n" +
		"strutil/shout_test.go\n```go\npackage strutil\n\nimport \"testing\"\n\nfunc TestShout(t *testing.T) {\n\tif got := Shout(\"hi\"); got != \"HI!\" {\n\t\tt.Fatalf(\"got %q\", got)\n\t}\n}\n```\n"
	var mu sync.Mutex
	var requests []map[string]any
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/messages" || r.Header.Get("X-Api-Key") != key {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
			return
		}
		var body map[string]any
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &body)
		mu.Lock()
		requests = append(requests, body)
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
			"content": []any{map[string]any{"type": "text", "text": answer}}, "stop_reason": "end_turn", "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 150, "cache_creation_input_tokens": 1800, "cache_read_input_tokens": 2500, "output_tokens": 321},
		})
	}))
	t.Cleanup(fake.Close)

	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.BuiltinBaseURLs = map[string][]string{"anthropic": {fake.URL}}
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: sampleRepo(t), DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	_, err = moosev1.NewVariantServiceClient(c.conn).CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "sonnet", PluginName: "anthropic",
		Model: "claude-sonnet-4-5", BaseUrl: fake.URL, InputPricePerMtok: 3, OutputPricePerMtok: 15})
	require.NoError(t, err)
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Shout to strutil",
		Description: "Shout upper-cases and adds !", AcceptanceCriteria: []string{"Shout(\"hi\") == \"HI!\""}, Complexity: 2, VariantId: "sonnet"})
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
	res := got.GetWorkOrder().GetResult()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, got.GetWorkOrder().GetStatus(), "%v", res)
	want := (150*3 + 2500*0.30 + 1800*3.75 + 321*15) / 1e6
	require.InDelta(t, want, res.GetCostUsd(), 1e-12)
	require.EqualValues(t, 150+1800+2500, res.GetInputTokens())
	require.EqualValues(t, 2500, res.GetCacheReadInputTokens())
	require.EqualValues(t, 1800, res.GetCacheWriteInputTokens())

	as, err := c.wos.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: id})
	require.NoError(t, err)
	require.Len(t, as.GetAttempts(), 1)
	a := as.GetAttempts()[0]
	require.EqualValues(t, 150+1800+2500, a.GetInputTokens())
	require.EqualValues(t, 2500, a.GetCacheReadInputTokens())
	require.EqualValues(t, 1800, a.GetCacheWriteInputTokens())
	require.EqualValues(t, 321, a.GetOutputTokens())
	require.InDelta(t, want, a.GetCostUsd(), 1e-12)
	require.Less(t, a.GetCostUsd(), (4450*3+321*15)/1e6, "cheaper than every input token at the input price")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, requests, 1)
	ephemeral := map[string]any{"type": "ephemeral"}
	require.Equal(t, ephemeral, requests[0]["system"].([]any)[0].(map[string]any)["cache_control"])
	blocks := requests[0]["messages"].([]any)[0].(map[string]any)["content"].([]any)
	require.Len(t, blocks, 3, "project, work order, this cycle")
	require.Equal(t, ephemeral, blocks[0].(map[string]any)["cache_control"])
	require.Contains(t, blocks[0].(map[string]any)["text"], "strutil/", "the project's file tree is the first cached part")
	require.Equal(t, ephemeral, blocks[1].(map[string]any)["cache_control"])
	require.Contains(t, blocks[1].(map[string]any)["text"], "# Work order: Add Shout to strutil")
	require.NotContains(t, blocks[2].(map[string]any), "cache_control")
}
