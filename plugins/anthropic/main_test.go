package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/internal/prompt"
	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/internal/provider/claude"
	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

const testKey = "sk-ant-api03-test0123456789"

// fakeAnthropic speaks POST /v1/messages the way api.anthropic.com does:
// answers[i] is the answer to the i-th request (the last one repeats).
type fakeAnthropic struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	answers []answer
}

type recorded struct {
	key, version string
	body         map[string]any
}

type answer struct {
	status  int
	header  map[string]string
	body    string
	blockMS int
}

func newFake(t *testing.T, answers ...answer) *fakeAnthropic {
	f := &fakeAnthropic{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"type":"error","error":{"type":"not_found_error","message":"Not found"}}`)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{key: r.Header.Get("X-Api-Key"), version: r.Header.Get("Anthropic-Version"), body: body})
	a := f.answers[min(len(f.reqs), len(f.answers))-1]
	f.mu.Unlock()
	if a.blockMS > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Duration(a.blockMS) * time.Millisecond):
		}
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_011CTest")
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeAnthropic) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func message(text, stop string, in, out int) answer {
	return answer{status: 200, body: fmt.Sprintf(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":%q}],"stop_reason":%q,"stop_sequence":null,
"usage":{"input_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":%d,"service_tier":"standard"}}`, text, stop, in, out)}
}

func apiError(statusCode int, typ, msg string, header map[string]string) answer {
	return answer{status: statusCode, header: header, body: fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q},"request_id":"req_011CTest"}`, typ, msg)}
}

func plugin(f *fakeAnthropic, key string) (*provider.Proposer, *[]time.Duration) {
	var mu sync.Mutex
	var sleeps []time.Duration
	p := newProposer(func(name string) (string, bool) {
		if name == "ANTHROPIC_API_KEY" && key != "" {
			return key, true
		}
		return "", false
	}, f.srv.Client())
	p.Log = sdk.NewLogger(io.Discard)
	p.LLM.(*claude.Client).Policy = func(params map[string]string) (provider.Policy, error) {
		pol, err := provider.PolicyFromParams(params)
		pol.Sleep = func(_ context.Context, d time.Duration) error {
			mu.Lock()
			sleeps = append(sleeps, d)
			mu.Unlock()
			return nil
		}
		return pol, err
	}
	return p, &sleeps
}

func request(f *fakeAnthropic, params map[string]string) *sdk.ProposeRequest {
	return &sdk.ProposeRequest{
		WorkOrder: &sdk.WorkOrder{
			Title:              "Add a -precision flag to the gocalc command",
			AcceptanceCriteria: []string{"gocalc -precision 2 \"10 / 3\" prints 3.33"},
			Complexity:         2,
		},
		Variant: &sdk.VariantConfig{Name: "sonnet", Model: "claude-sonnet-4-5", BaseUrl: f.srv.URL,
			Temperature: 0.3, MaxTokens: 4000, EditFormat: "search_replace", Params: params},
		Cycle:    2,
		Findings: []*sdk.Finding{{File: "cmd/gocalc/main.go", Line: 9, Category: "undefined_symbol", Message: "undefined: strconv"}},
		Feedback: "# example/cmd/gocalc\ncmd/gocalc/main.go:9:2: undefined: strconv\n",
	}
}

func TestProposeSendsPromptAndReportsUsage(t *testing.T) {
	t.Parallel()
	f := newFake(t, message("cmd/gocalc/main.go\n```go\n<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE\n```\n", "end_turn", 2100, 450))
	p, _ := plugin(f, testKey)
	req := request(f, nil)
	resp, err := p.Propose(context.Background(), req)
	require.NoError(t, err)
	require.Contains(t, resp.GetText(), "<<<<<<< SEARCH")
	require.Equal(t, "claude-sonnet-4-5-20250929", resp.GetModel())
	require.EqualValues(t, 2100, resp.GetInputTokens())
	require.EqualValues(t, 450, resp.GetOutputTokens())
	require.Equal(t, "stop", resp.GetFinishReason())
	want, err := prompt.Render(req)
	require.NoError(t, err)
	require.Equal(t, want.Hash, resp.GetPromptHash())

	reqs := f.requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	require.Equal(t, testKey, got.key)
	require.NotEmpty(t, got.version)
	require.Equal(t, "claude-sonnet-4-5", got.body["model"])
	require.EqualValues(t, 4000, got.body["max_tokens"])
	require.InDelta(t, 0.3, got.body["temperature"], 1e-9)
	sys := got.body["system"].([]any)
	require.Equal(t, want.System, sys[0].(map[string]any)["text"])
	msgs := got.body["messages"].([]any)
	require.Len(t, msgs, 1)
	user := msgs[0].(map[string]any)
	require.Equal(t, "user", user["role"])
	var content string
	for _, b := range user["content"].([]any) {
		content += b.(map[string]any)["text"].(string)
	}
	require.Equal(t, want.User, content)
	for _, s := range []string{"Add a -precision flag to the gocalc command", "gocalc -precision 2 \"10 / 3\" prints 3.33",
		"cmd/gocalc/main.go:9: [undefined_symbol] undefined: strconv", "cmd/gocalc/main.go:9:2: undefined: strconv", "<<<<<<< SEARCH"} {
		require.Contains(t, content, s)
	}
}

func TestDefaultMaxTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, message("x", "end_turn", 1, 1))
	p, _ := plugin(f, testKey)
	req := request(f, nil)
	req.Variant.MaxTokens = 0
	_, err := p.Propose(context.Background(), req)
	require.NoError(t, err)
	require.EqualValues(t, claude.DefaultMaxTokens, f.requests()[0].body["max_tokens"])
}

func TestProposeHandlesProviderAnswers(t *testing.T) {
	t.Parallel()
	ok := message("done", "end_turn", 10, 5)
	tests := []struct {
		name       string
		answers    []answer
		params     map[string]string
		noKey      bool
		wantCode   codes.Code
		wantMsg    string
		wantReqs   int
		wantSleeps []time.Duration
		wantFinish string
	}{
		{
			name:     "429 with retry-after then success",
			answers:  []answer{apiError(429, "rate_limit_error", "This request would exceed the rate limit for your organization.", map[string]string{"Retry-After": "3"}), ok},
			wantCode: codes.OK, wantReqs: 2, wantSleeps: []time.Duration{3 * time.Second}, wantFinish: "stop",
		},
		{
			name:     "500 then success",
			answers:  []answer{apiError(500, "api_error", "Internal server error", nil), ok},
			wantCode: codes.OK, wantReqs: 2, wantFinish: "stop",
		},
		{
			name:     "529 overloaded then success",
			answers:  []answer{apiError(529, "overloaded_error", "Overloaded", nil), ok},
			wantCode: codes.OK, wantReqs: 2, wantFinish: "stop",
		},
		{
			name:     "max_tokens is reported as length",
			answers:  []answer{message("cmd/gocalc/main.go\n```go\npackage", "max_tokens", 10, 4000)},
			wantCode: codes.OK, wantReqs: 1, wantFinish: "length",
		},
		{
			name:     "bad key",
			answers:  []answer{apiError(401, "authentication_error", "invalid x-api-key", nil)},
			wantCode: codes.Unauthenticated, wantMsg: "rejected the API key", wantReqs: 1,
		},
		{
			name:     "unknown model",
			answers:  []answer{apiError(404, "not_found_error", "model: claude-nope", nil)},
			wantCode: codes.NotFound, wantMsg: "unknown model", wantReqs: 1,
		},
		{
			name:     "credit exhausted",
			answers:  []answer{apiError(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", nil)},
			wantCode: codes.ResourceExhausted, wantMsg: "quota", wantReqs: 1,
		},
		{
			name:     "prompt too long",
			answers:  []answer{apiError(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum", nil)},
			wantCode: codes.OutOfRange, wantMsg: "context window", wantReqs: 1,
		},
		{
			name:     "slow answer exceeds the per-call deadline",
			answers:  []answer{{status: 200, body: `{}`, blockMS: 10000}},
			params:   map[string]string{"timeout": "150ms", "max_attempts": "2"},
			wantCode: codes.Unavailable, wantMsg: "timed out", wantReqs: 2,
		},
		{
			name:     "no key",
			answers:  []answer{ok},
			noKey:    true,
			wantCode: codes.Unauthenticated, wantMsg: "ANTHROPIC_API_KEY is not set", wantReqs: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.answers...)
			key := testKey
			if tc.noKey {
				key = ""
			}
			p, sleeps := plugin(f, key)
			resp, err := p.Propose(context.Background(), request(f, tc.params))
			require.Len(t, f.requests(), tc.wantReqs)
			if tc.wantCode == codes.OK {
				require.NoError(t, err)
				require.Equal(t, tc.wantFinish, resp.GetFinishReason())
				require.Positive(t, resp.GetOutputTokens())
			} else {
				require.Error(t, err)
				st, _ := status.FromError(err)
				require.Equal(t, tc.wantCode, st.Code(), st.Message())
				require.Contains(t, st.Message(), tc.wantMsg)
				require.NotContains(t, st.Message(), testKey)
			}
			if tc.wantSleeps != nil {
				require.Equal(t, tc.wantSleeps, *sleeps)
			}
		})
	}
}

// TestForwardsSamplingParams: reasoning_effort becomes output_config.effort,
// stop stop_sequences, top_p and top_k go as is and extra is merged into the
// body; the plugin does not declare seed, which the messages API lacks.
func TestForwardsSamplingParams(t *testing.T) {
	t.Parallel()
	f := newFake(t, message("x", "end_turn", 1, 1))
	p, _ := plugin(f, testKey)
	_, err := p.Propose(context.Background(), request(f, map[string]string{
		"reasoning_effort": "high", "top_p": "0.95", "top_k": "40", "stop": "</answer>",
		"extra": `{"metadata": {"user_id": "moose"}, "service_tier": "standard_only"}`,
	}))
	require.NoError(t, err)
	body := f.requests()[0].body
	require.Equal(t, map[string]any{"effort": "high"}, body["output_config"])
	require.InDelta(t, 0.95, body["top_p"], 1e-9)
	require.EqualValues(t, 40, body["top_k"])
	require.Equal(t, []any{"</answer>"}, body["stop_sequences"])
	require.Equal(t, map[string]any{"user_id": "moose"}, body["metadata"])
	require.Equal(t, "standard_only", body["service_tier"])

	info := p.Info()
	require.Contains(t, info.Params, "top_k")
	require.NotContains(t, info.Params, "seed")
}

// TestCachesTheStablePrefix: the system prompt and each stable part of the
// user message (the project, then the examples and the work order) carry an
// ephemeral cache_control breakpoint; the part each cycle changes does not.
// Before, the request had no breakpoint at all, so every call paid the full
// input price for the same project context.
func TestCachesTheStablePrefix(t *testing.T) {
	t.Parallel()
	f := newFake(t, message("x", "end_turn", 1, 1))
	p, _ := plugin(f, testKey)
	req := request(f, nil)
	req.Project = &sdk.ProjectContext{Name: "go-calc", Language: "go", FileTree: []string{"go.mod", "cmd/gocalc/main.go"},
		Files:     []*sdk.File{{Path: "cmd/gocalc/main.go", Content: "package main\n"}},
		Manifests: []*sdk.File{{Path: "go.mod", Content: "module example.com/gocalc\n"}}}
	req.Examples = []*pluginv1.Example{{WorkOrder: &sdk.WorkOrder{Title: "Add a -version flag"}, Proposal: "cmd/gocalc/main.go\n```go\npackage main\n```"}}
	_, err := p.Propose(context.Background(), req)
	require.NoError(t, err)
	want, err := prompt.Render(req)
	require.NoError(t, err)
	require.Len(t, want.UserParts, 3)

	body := f.requests()[0].body
	ephemeral := map[string]any{"type": "ephemeral"}
	sys := body["system"].([]any)
	require.Len(t, sys, 1)
	require.Equal(t, ephemeral, sys[0].(map[string]any)["cache_control"], "the system prompt is a cached prefix")
	blocks := body["messages"].([]any)[0].(map[string]any)["content"].([]any)
	require.Len(t, blocks, 3)
	for i, b := range blocks {
		block := b.(map[string]any)
		require.Equal(t, "text", block["type"])
		require.Equal(t, want.UserParts[i], block["text"])
		if i < 2 {
			require.Equal(t, ephemeral, block["cache_control"], "part %d is a stable prefix", i)
		} else {
			require.NotContains(t, block, "cache_control", "the cycle's own part is not cached")
		}
	}
	require.Contains(t, blocks[0].(map[string]any)["text"], "module example.com/gocalc")
	require.Contains(t, blocks[1].(map[string]any)["text"], "Add a -precision flag to the gocalc command")
	require.Contains(t, blocks[2].(map[string]any)["text"], "undefined: strconv")

	off := newFake(t, message("x", "end_turn", 1, 1))
	p, _ = plugin(off, testKey)
	_, err = p.Propose(context.Background(), request(off, map[string]string{"prompt_cache": "off"}))
	require.NoError(t, err)
	require.NotContains(t, fmt.Sprint(off.requests()[0].body), "cache_control", "prompt_cache=off sends no breakpoint")
}

// TestReportsCacheReadsAndWrites: the usage block's cache_read_input_tokens
// and cache_creation_input_tokens are reported apart (and counted in
// input_tokens), so moosed prices them at their own rates.
func TestReportsCacheReadsAndWrites(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer{status: 200, body: `{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":"x"}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":120,"cache_creation_input_tokens":1800,"cache_read_input_tokens":6000,"output_tokens":400,
"cache_creation":{"ephemeral_5m_input_tokens":1800,"ephemeral_1h_input_tokens":0},"service_tier":"standard"}}`})
	p, _ := plugin(f, testKey)
	resp, err := p.Propose(context.Background(), request(f, nil))
	require.NoError(t, err)
	require.EqualValues(t, 120+1800+6000, resp.GetInputTokens())
	require.EqualValues(t, 6000, resp.GetCacheReadInputTokens())
	require.EqualValues(t, 1800, resp.GetCacheWriteInputTokens())
	require.EqualValues(t, 400, resp.GetOutputTokens())
}
