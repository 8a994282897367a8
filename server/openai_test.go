package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// fakeOpenAI answers chat completions the way the real API does, with usage.
func fakeOpenAI(t *testing.T, key, answer string, requests *[]string, mu *sync.Mutex) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		*requests = append(*requests, string(body))
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`))
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "created": time.Now().Unix(), "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}},
			"usage": map[string]any{"prompt_tokens": 1234, "completion_tokens": 321, "total_tokens": 1555},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestOpenAIVariantWithFallbackKeepsTheKeySecret drives the real openai plugin
// through the pipeline against a server speaking the OpenAI API: the primary
// variant's provider is down, so the tier's fallback serves the work order; the
// cost is the fallback's usage times its prices; and the API key reaches the
// provider but no stored attempt, event or log line.
func TestOpenAIVariantWithFallbackKeepsTheKeySecret(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real plugins, builds and tests")
	}
	const secret = "sk-test-5ecr3t-never-shown"
	t.Setenv("OPENAI_API_KEY", secret)

	answer := "strutil/shout.go\n```go\npackage strutil\n\nimport \"strings\"\n\n// Shout upper-cases s and adds an exclamation mark.\nfunc Shout(s string) string { return strings.ToUpper(s) + \"!\" }\n```\n\n" +
		"strutil/shout_test.go\n```go\npackage strutil\n\nimport \"testing\"\n\nfunc TestShout(t *testing.T) {\n\tif got := Shout(\"hi\"); got != \"HI!\" {\n\t\tt.Fatalf(\"got %q\", got)\n\t}\n}\n```\n"
	var mu sync.Mutex
	var requests []string
	good := fakeOpenAI(t, secret, answer, &requests, &mu)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"The server is overloaded","type":"server_error"}}`))
	}))
	t.Cleanup(down.Close)

	logs := &syncBuffer{}
	srv := servertest.Start(t, servertest.WithBuiltinPlugins(t), servertest.WithConfig(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		// The fake providers stand in for OpenAI: the key may go to them.
		c.BuiltinBaseURLs = map[string][]string{"openai": {good.URL + "/v1", down.URL + "/v1"}}
	}))
	c := dial(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	repo := sampleRepo(t)
	p, err := c.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "go-calc", RepoUrl: repo, DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	variants := moosev1.NewVariantServiceClient(c.conn)
	fast := map[string]string{"max_attempts": "2", "retry_base_delay": "10ms"}
	primary, err := variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini-primary", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: down.URL + "/v1", Params: fast, InputPricePerMtok: 1, OutputPricePerMtok: 1})
	require.NoError(t, err)
	fallback, err := variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "mini-fallback", PluginName: "openai", Model: "gpt-4o-mini",
		BaseUrl: good.URL + "/v1", Params: fast, InputPricePerMtok: 0.15, OutputPricePerMtok: 0.60})
	require.NoError(t, err)
	_, err = moosev1.NewRoutingServiceClient(c.conn).SetTier(ctx, &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 3,
		VariantId: primary.GetVariant().GetId(), FallbackVariantId: fallback.GetVariant().GetId()})
	require.NoError(t, err)

	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "Add Shout to strutil",
		Description: "Shout upper-cases and adds !", AcceptanceCriteria: []string{"Shout(\"hi\") == \"HI!\""}, Complexity: 2})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	require.NoError(t, err)
	stream, err := c.wos.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	require.NoError(t, err)
	var fellBack bool
	for {
		resp, err := stream.Recv()
		if err != nil {
			break
		}
		if strings.Contains(resp.GetEvent().GetMessage(), "falling back to "+fallback.GetVariant().GetId()) {
			fellBack = true
		}
	}
	require.True(t, fellBack, "the fallback is recorded as an event")
	got, err := c.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	require.NoError(t, err)
	wo := got.GetWorkOrder()
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, wo.GetStatus(), "%v", wo.GetResult())
	require.Equal(t, fallback.GetVariant().GetId(), wo.GetVariantId())
	require.InDelta(t, 1234*0.15/1e6+321*0.60/1e6, wo.GetResult().GetCostUsd(), 1e-12)
	require.Equal(t, int64(1234), wo.GetResult().GetInputTokens())

	mu.Lock()
	require.NotEmpty(t, requests)
	require.Contains(t, requests[0], "Add Shout to strutil", "the prompt carries the work order")
	require.Contains(t, requests[0], `"model":"gpt-4o-mini"`)
	mu.Unlock()

	var leaks int
	require.NoError(t, srv.Server().Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM attempts WHERE attempts::text LIKE '%' || $1 || '%') +
		(SELECT count(*) FROM work_order_events WHERE work_order_events::text LIKE '%' || $1 || '%') +
		(SELECT count(*) FROM variants WHERE variants::text LIKE '%' || $1 || '%') +
		(SELECT count(*) FROM plugins WHERE plugins::text LIKE '%' || $1 || '%')`, secret).Scan(&leaks))
	require.Zero(t, leaks, "the key is in no stored row")
	require.NotContains(t, logs.String(), secret, "nor in any log line")
	require.Contains(t, logs.String(), "plugin registered", "the logs were captured")
}
