package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/internal/prompt"
	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/internal/provider/openaichat"
	"github.com/moosehq/moose/plugins/sdk"
)

const testKey = "sk-test-0123456789abcdef"

// fakeOpenAI speaks POST /v1/chat/completions the way api.openai.com does:
// answers[i] is the answer to the i-th request (the last one repeats).
type fakeOpenAI struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	answers []answer
}

type recorded struct {
	auth string
	body map[string]any
}

type answer struct {
	status  int
	header  map[string]string
	body    string
	blockMS int // hold the answer until the client gives up (or this many ms)
}

func newFake(t *testing.T, answers ...answer) *fakeOpenAI {
	f := &fakeOpenAI{t: t, answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"no route","type":"invalid_request_error","param":null,"code":null}}`, http.StatusNotFound)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{auth: r.Header.Get("Authorization"), body: body})
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
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fakeOpenAI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func completion(text, finish string, in, out int) answer {
	body := fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1730000000,"model":"gpt-4o-mini-2024-07-18",
"choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null},"logprobs":null,"finish_reason":%q}],
"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},
"system_fingerprint":"fp_1"}`, text, finish, in, out, in+out)
	return answer{status: 200, body: body}
}

func apiError(statusCode int, typ, code, msg string, header map[string]string) answer {
	c := "null"
	if code != "" {
		c = fmt.Sprintf("%q", code)
	}
	return answer{status: statusCode, header: header,
		body: fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":%s}}`, msg, typ, c)}
}

// plugin returns the proposer wired to the fake, with retries recorded
// instead of slept.
func plugin(f *fakeOpenAI, key string) (*provider.Proposer, *[]time.Duration) {
	var mu sync.Mutex
	var sleeps []time.Duration
	p := newProposer(func(name string) (string, bool) {
		if name == "OPENAI_API_KEY" && key != "" {
			return key, true
		}
		return "", false
	}, f.srv.Client())
	p.Log = sdk.NewLogger(io.Discard)
	p.LLM.(*openaichat.Client).Policy = func(params map[string]string) (provider.Policy, error) {
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

func request(f *fakeOpenAI, params map[string]string) *sdk.ProposeRequest {
	return &sdk.ProposeRequest{
		WorkOrder: &sdk.WorkOrder{
			Title:              "Support the modulo operator % in calc.Eval",
			Description:        "Add % with the precedence of * and /.",
			AcceptanceCriteria: []string{"Eval(\"7 % 3\") returns 1", "x % 0 fails with ErrDivisionByZero"},
			Complexity:         3,
		},
		Project: &sdk.ProjectContext{Name: "go-calc", Language: "go", FileTree: []string{"calc/calc.go"},
			Files: []*sdk.File{{Path: "calc/calc.go", Content: "package calc\n"}}},
		Variant: &sdk.VariantConfig{Name: "mini", Model: "gpt-4o-mini", BaseUrl: f.srv.URL + "/v1",
			Temperature: 0.2, MaxTokens: 2048, EditFormat: "whole", Params: params},
		Cycle:            2,
		PreviousProposal: "calc/calc.go\n```go\npackage calc\n```\n",
		Findings:         []*sdk.Finding{{File: "calc/calc_test.go", Line: 12, Category: "failing_test", Message: "TestModulo: got 0, want 1"}},
		Feedback:         "--- FAIL: TestModulo (0.00s)\n    calc_test.go:12: got 0, want 1\nFAIL\n",
	}
}

func TestProposeSendsPromptAndReportsUsage(t *testing.T) {
	t.Parallel()
	f := newFake(t, completion("calc/calc.go\n```go\npackage calc\n```\n", "stop", 1234, 321))
	p, sleeps := plugin(f, testKey)
	req := request(f, nil)

	resp, err := p.Propose(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, "calc/calc.go\n```go\npackage calc\n```\n", resp.GetText())
	require.Equal(t, "gpt-4o-mini-2024-07-18", resp.GetModel())
	require.EqualValues(t, 1234, resp.GetInputTokens())
	require.EqualValues(t, 321, resp.GetOutputTokens())
	require.Equal(t, "stop", resp.GetFinishReason())
	want, err := prompt.Render(req)
	require.NoError(t, err)
	require.Equal(t, want.Hash, resp.GetPromptHash())
	require.Empty(t, *sleeps)

	reqs := f.requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	require.Equal(t, "Bearer "+testKey, got.auth)
	require.Equal(t, "gpt-4o-mini", got.body["model"])
	require.InDelta(t, 0.2, got.body["temperature"], 1e-9)
	// A compatible server (not api.openai.com) gets the classic max_tokens.
	require.EqualValues(t, 2048, got.body["max_tokens"])
	require.NotContains(t, got.body, "max_completion_tokens")
	msgs := got.body["messages"].([]any)
	require.Len(t, msgs, 2)
	require.Equal(t, "system", msgs[0].(map[string]any)["role"])
	require.Equal(t, want.System, msgs[0].(map[string]any)["content"])
	user := msgs[1].(map[string]any)
	require.Equal(t, "user", user["role"])
	content := user["content"].(string)
	require.Equal(t, want.User, content)
	for _, s := range []string{
		"Support the modulo operator % in calc.Eval", "Eval(\"7 % 3\") returns 1", "x % 0 fails with ErrDivisionByZero",
		"calc/calc_test.go:12: [failing_test] TestModulo: got 0, want 1", "--- FAIL: TestModulo (0.00s)", "package calc",
		"alone on the line just before the opening fence",
	} {
		require.Contains(t, content, s)
	}
}

func TestProposeHandlesProviderAnswers(t *testing.T) {
	t.Parallel()
	ok := completion("done", "stop", 10, 5)
	tests := []struct {
		name       string
		answers    []answer
		params     map[string]string
		key        string
		wantCode   codes.Code
		wantMsg    string
		wantReqs   int
		wantSleeps []time.Duration
		wantFinish string
	}{
		{
			name: "429 with Retry-After then success",
			answers: []answer{apiError(429, "requests", "rate_limit_exceeded", "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
				map[string]string{"Retry-After": "7"}), ok},
			wantCode: codes.OK, wantReqs: 2, wantSleeps: []time.Duration{7 * time.Second}, wantFinish: "stop",
		},
		{
			name:     "500 then success",
			answers:  []answer{apiError(500, "server_error", "", "The server had an error while processing your request.", nil), ok},
			wantCode: codes.OK, wantReqs: 2, wantFinish: "stop",
		},
		{
			name:     "truncated output is returned flagged length",
			answers:  []answer{completion("calc/calc.go\n```go\npackage calc\nfunc", "length", 10, 2048)},
			wantCode: codes.OK, wantReqs: 1, wantFinish: "length",
		},
		{
			name:     "bad key",
			answers:  []answer{apiError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test-0***********cdef. You can find your API key at https://platform.openai.com/account/api-keys.", nil)},
			wantCode: codes.Unauthenticated, wantMsg: "rejected the API key", wantReqs: 1,
		},
		{
			name:     "unknown model",
			answers:  []answer{apiError(404, "invalid_request_error", "model_not_found", "The model `gpt-9` does not exist or you do not have access to it.", nil)},
			wantCode: codes.NotFound, wantMsg: "unknown model", wantReqs: 1,
		},
		{
			name:     "quota is not retried",
			answers:  []answer{apiError(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", nil)},
			wantCode: codes.ResourceExhausted, wantMsg: "quota", wantReqs: 1,
		},
		{
			name:     "context too long",
			answers:  []answer{apiError(400, "invalid_request_error", "context_length_exceeded", "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", nil)},
			wantCode: codes.OutOfRange, wantMsg: "context window", wantReqs: 1,
		},
		{
			name:     "rate limited beyond the retries",
			answers:  []answer{apiError(429, "requests", "rate_limit_exceeded", "Rate limit reached", map[string]string{"Retry-After": "1"})},
			params:   map[string]string{"max_attempts": "3"},
			wantCode: codes.Unavailable, wantMsg: "gave up after 3 attempts", wantReqs: 3, wantSleeps: []time.Duration{time.Second, time.Second},
		},
		{
			name:     "Retry-After longer than the variant waits",
			answers:  []answer{apiError(429, "tokens", "rate_limit_exceeded", "Rate limit reached", map[string]string{"Retry-After": "600"})},
			wantCode: codes.Unavailable, wantMsg: "asked to retry after 10m0s", wantReqs: 1,
		},
		{
			name:     "slow answer exceeds the per-call deadline",
			answers:  []answer{{status: 200, body: `{}`, blockMS: 10000}},
			params:   map[string]string{"timeout": "150ms", "max_attempts": "2"},
			wantCode: codes.Unavailable, wantMsg: "timed out", wantReqs: 2,
		},
		{
			name:     "no key for api.openai.com",
			answers:  []answer{ok},
			key:      "-",
			wantCode: codes.Unauthenticated, wantMsg: "OPENAI_API_KEY is not set", wantReqs: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.answers...)
			key := testKey
			if tc.key == "-" {
				key = ""
			}
			p, sleeps := plugin(f, key)
			req := request(f, tc.params)
			if tc.key == "-" {
				req.Variant.BaseUrl = ""
			}
			resp, err := p.Propose(context.Background(), req)
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
				require.NotContains(t, st.Message(), "sk-test-0***")
			}
			if tc.wantSleeps != nil {
				require.Equal(t, tc.wantSleeps, *sleeps)
			}
		})
	}
}

func TestOfficialEndpointGetsMaxCompletionTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, completion("x", "stop", 1, 1))
	p, _ := plugin(f, testKey)
	req := request(f, map[string]string{"max_tokens_field": "max_completion_tokens", "temperature": "omit"})
	_, err := p.Propose(context.Background(), req)
	require.NoError(t, err)
	body := f.requests()[0].body
	require.EqualValues(t, 2048, body["max_completion_tokens"])
	require.NotContains(t, body, "max_tokens")
	require.NotContains(t, body, "temperature")
}

func TestAPIKeyFromNamedVariable(t *testing.T) {
	t.Parallel()
	f := newFake(t, completion("x", "stop", 1, 1))
	p := newProposer(func(name string) (string, bool) {
		if name == "VLLM_KEY" {
			return "vllm-secret", true
		}
		return "", false
	}, f.srv.Client())
	_, err := p.Propose(context.Background(), request(f, map[string]string{"api_key_env": "VLLM_KEY"}))
	require.NoError(t, err)
	require.Equal(t, "Bearer vllm-secret", f.requests()[0].auth)
	require.True(t, strings.HasPrefix(p.Info().Name, "openai"))
}

// TestForwardsSamplingParams: the documented params reach the request body as
// OpenAI's own fields, and extra is merged in as is (a field the SDK does not
// know, as vLLM takes top_k); before, every param but temperature and
// max_tokens was dropped.
func TestForwardsSamplingParams(t *testing.T) {
	t.Parallel()
	f := newFake(t, completion("x", "stop", 1, 1))
	p, _ := plugin(f, testKey)
	_, err := p.Propose(context.Background(), request(f, map[string]string{
		"reasoning_effort": "low", "seed": "42", "top_p": "0.9", "stop": `["\n\nEND", "STOP"]`,
		"extra": `{"top_k": 20, "prompt_cache_key": "go-calc", "chat_template_kwargs": {"enable_thinking": false}}`,
	}))
	require.NoError(t, err)
	body := f.requests()[0].body
	require.Equal(t, "low", body["reasoning_effort"])
	require.EqualValues(t, 42, body["seed"])
	require.InDelta(t, 0.9, body["top_p"], 1e-9)
	require.Equal(t, []any{"\n\nEND", "STOP"}, body["stop"])
	require.EqualValues(t, 20, body["top_k"])
	require.Equal(t, "go-calc", body["prompt_cache_key"])
	require.Equal(t, map[string]any{"enable_thinking": false}, body["chat_template_kwargs"])
	require.Equal(t, "gpt-4o-mini", body["model"], "extra leaves the plugin's fields alone")

	f = newFake(t, completion("x", "stop", 1, 1))
	p, _ = plugin(f, testKey)
	_, err = p.Propose(context.Background(), request(f, map[string]string{"stop": "END"}))
	require.NoError(t, err)
	require.Equal(t, "END", f.requests()[0].body["stop"], "a single stop sequence is sent as a string")
	require.NotContains(t, f.requests()[0].body, "seed")
}

// TestRefusesMalformedParam: a stored variant whose param does not parse fails
// the call as a bad request instead of running without it.
func TestRefusesMalformedParam(t *testing.T) {
	t.Parallel()
	f := newFake(t, completion("x", "stop", 1, 1))
	p, _ := plugin(f, testKey)
	_, err := p.Propose(context.Background(), request(f, map[string]string{"seed": "forty-two"}))
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.ErrorContains(t, err, "param seed")
	require.Empty(t, f.requests())
}

// TestDeclaresItsParams: the plugin tells moosed which params it reads, so
// moosed can refuse the others when a variant is created.
func TestDeclaresItsParams(t *testing.T) {
	t.Parallel()
	info := newProposer(nil, nil).Info()
	for _, name := range []string{"reasoning_effort", "seed", "top_p", "stop", "extra", "api_key_env", "timeout", "max_tokens_field"} {
		require.Contains(t, info.Params, name)
	}
}

// TestStablePrefixComesFirst: OpenAI caches the longest prefix a request
// repeats (from 1,024 tokens), so two work orders of one project must share
// the system message and the whole project part of the user message. Before,
// the user message opened with the work order's title and no two work orders
// shared more than the system prompt.
func TestStablePrefixComesFirst(t *testing.T) {
	t.Parallel()
	f := newFake(t, completion("x", "stop", 1, 1))
	p, _ := plugin(f, testKey)
	a := request(f, nil)
	a.Project.Manifests = []*sdk.File{{Path: "go.mod", Content: "module example.com/calc\n"}}
	b := request(f, nil)
	b.Project.Manifests = a.Project.Manifests
	b.WorkOrder = &sdk.WorkOrder{Title: "Add a power operator ^", AcceptanceCriteria: []string{"Eval(\"2 ^ 10\") returns 1024"}}
	for _, r := range []*sdk.ProposeRequest{a, b} {
		_, err := p.Propose(context.Background(), r)
		require.NoError(t, err)
	}
	reqs := f.requests()
	require.Len(t, reqs, 2)
	user := func(i int) string { return reqs[i].body["messages"].([]any)[1].(map[string]any)["content"].(string) }
	system := func(i int) string { return reqs[i].body["messages"].([]any)[0].(map[string]any)["content"].(string) }
	require.Equal(t, system(0), system(1))
	want, err := prompt.Render(a)
	require.NoError(t, err)
	project := want.UserParts[0]
	require.Contains(t, project, "module example.com/calc")
	require.Contains(t, project, "calc/calc.go")
	require.True(t, strings.HasPrefix(user(0), project), "the project opens the message")
	require.True(t, strings.HasPrefix(user(1), project), "and is the same for another work order")
	require.Less(t, strings.Index(user(0), "Support the modulo operator"), strings.Index(user(0), "## Relevant files"),
		"the work order precedes what changes per cycle")
}

// TestReportsCachedTokens: usage.prompt_tokens_details.cached_tokens (2,048
// of 3,000 prompt tokens here) is reported apart, so moosed prices it at the
// cached rate; before, it was ignored and all 3,000 billed at the full price.
func TestReportsCachedTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer{status: 200, body: `{"id":"chatcmpl-2","object":"chat.completion","created":1730000000,"model":"gpt-4o-mini-2024-07-18",
"choices":[{"index":0,"message":{"role":"assistant","content":"x","refusal":null},"logprobs":null,"finish_reason":"stop"}],
"usage":{"prompt_tokens":3000,"completion_tokens":200,"total_tokens":3200,
"prompt_tokens_details":{"cached_tokens":2048,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`})
	p, _ := plugin(f, testKey)
	resp, err := p.Propose(context.Background(), request(f, nil))
	require.NoError(t, err)
	require.EqualValues(t, 3000, resp.GetInputTokens(), "input_tokens counts the cached ones too")
	require.EqualValues(t, 2048, resp.GetCacheReadInputTokens())
	require.Zero(t, resp.GetCacheWriteInputTokens())
	require.EqualValues(t, 200, resp.GetOutputTokens())
}
