package provider_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/moosehq/moose/plugins/internal/provider"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		status         int
		typ, code, msg string
		want           error
		retryable      bool
		grpc           codes.Code
	}{
		{"openai bad key", 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided", provider.ErrBadKey, false, codes.Unauthenticated},
		{"anthropic bad key", 401, "authentication_error", "", "invalid x-api-key", provider.ErrBadKey, false, codes.Unauthenticated},
		{"anthropic permission", 403, "permission_error", "", "no access", provider.ErrBadKey, false, codes.Unauthenticated},
		{"openai unknown model", 404, "invalid_request_error", "model_not_found", "The model `x` does not exist", provider.ErrUnknownModel, false, codes.NotFound},
		{"anthropic unknown model", 404, "not_found_error", "", "model: x", provider.ErrUnknownModel, false, codes.NotFound},
		{"openai quota", 429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota", provider.ErrQuota, false, codes.ResourceExhausted},
		{"anthropic credit", 400, "invalid_request_error", "", "Your credit balance is too low", provider.ErrQuota, false, codes.ResourceExhausted},
		{"openai context", 400, "invalid_request_error", "context_length_exceeded", "maximum context length is 128000", provider.ErrContextTooLong, false, codes.OutOfRange},
		{"anthropic context", 400, "invalid_request_error", "", "prompt is too long: 210000 tokens > 200000 maximum", provider.ErrContextTooLong, false, codes.OutOfRange},
		{"rate limit", 429, "rate_limit_error", "", "slow down", provider.ErrRateLimited, true, codes.Unavailable},
		{"server error", 500, "server_error", "", "oops", provider.ErrUnavailable, true, codes.Unavailable},
		{"overloaded", 529, "overloaded_error", "", "Overloaded", provider.ErrUnavailable, true, codes.Unavailable},
		{"bad gateway without body", 502, "", "", "", provider.ErrUnavailable, true, codes.Unavailable},
		{"request timeout", 408, "", "", "", provider.ErrTimeout, true, codes.Unavailable},
		{"bad request", 400, "invalid_request_error", "", "temperature must be <= 2", provider.ErrBadRequest, false, codes.InvalidArgument},
	}
	for _, tc := range tests {
		e := provider.Classify("p", tc.status, nil, tc.typ, tc.code, tc.msg)
		require.ErrorIs(t, e, tc.want, tc.name)
		require.Equal(t, tc.retryable, e.Retryable(), tc.name)
		require.Equal(t, tc.grpc, e.GRPCStatus().Code(), tc.name)
	}
}

func TestErrorBody(t *testing.T) {
	t.Parallel()
	typ, code, msg := provider.ErrorBody(`{"error":{"message":"m","type":"t","param":null,"code":"c"}}`)
	require.Equal(t, []string{"t", "c", "m"}, []string{typ, code, msg})
	typ, code, msg = provider.ErrorBody(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	require.Equal(t, []string{"overloaded_error", "", "Overloaded"}, []string{typ, code, msg})
	_, _, msg = provider.ErrorBody(`{"error":"model 'llama9' not found"}`) // Ollama
	require.Equal(t, "model 'llama9' not found", msg)
	_, _, msg = provider.ErrorBody("upstream connect error")
	require.Equal(t, "upstream connect error", msg)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	require.Zero(t, provider.RetryAfter(h))
	h.Set("Retry-After", "12")
	require.Equal(t, 12*time.Second, provider.RetryAfter(h))
	h.Set("Retry-After-Ms", "1500")
	require.Equal(t, 1500*time.Millisecond, provider.RetryAfter(h))
	h = http.Header{}
	h.Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	require.Greater(t, provider.RetryAfter(h), 50*time.Minute)
	h.Set("Retry-After", "soon")
	require.Zero(t, provider.RetryAfter(h))
}

func TestRedact(t *testing.T) {
	t.Parallel()
	require.Equal(t, "key [redacted] rejected", provider.Redact("key abc123secret rejected", "abc123secret"))
	require.Equal(t, "Incorrect API key provided: [redacted].", provider.Redact("Incorrect API key provided: sk-proj-ab***yz."))
	require.Equal(t, "header [redacted]", provider.Redact("header Bearer xyz"))
}

// recorder is a Policy.Sleep that records the delays instead of waiting.
type recorder struct{ delays []time.Duration }

func (r *recorder) sleep(_ context.Context, d time.Duration) error {
	r.delays = append(r.delays, d)
	return nil
}

func TestDo(t *testing.T) {
	t.Parallel()
	rateLimited := func(after time.Duration) *provider.Error {
		return &provider.Error{Provider: "p", Kind: provider.ErrRateLimited, RetryAfter: after}
	}
	tests := []struct {
		name      string
		errs      []*provider.Error // per attempt; nil succeeds
		policy    provider.Policy
		wantCalls int
		want      error
		delays    func([]time.Duration)
	}{
		{name: "first try", errs: []*provider.Error{nil}, wantCalls: 1},
		{name: "retry-after honoured", errs: []*provider.Error{rateLimited(5 * time.Second), nil}, wantCalls: 2,
			delays: func(d []time.Duration) { require.Equal(t, []time.Duration{5 * time.Second}, d) }},
		{name: "exponential backoff", errs: []*provider.Error{
			{Provider: "p", Kind: provider.ErrUnavailable}, {Provider: "p", Kind: provider.ErrUnavailable}, nil},
			policy: provider.Policy{BaseDelay: time.Second, MaxDelay: time.Minute}, wantCalls: 3,
			delays: func(d []time.Duration) {
				require.Len(t, d, 2)
				require.InDelta(t, float64(time.Second), float64(d[0]), float64(time.Second)/4)
				require.InDelta(t, float64(2*time.Second), float64(d[1]), float64(2*time.Second)/4)
			}},
		{name: "not retryable", errs: []*provider.Error{{Provider: "p", Kind: provider.ErrBadKey}}, wantCalls: 1, want: provider.ErrBadKey},
		{name: "attempts run out", errs: []*provider.Error{rateLimited(0)}, policy: provider.Policy{MaxAttempts: 3}, wantCalls: 3, want: provider.ErrRateLimited},
		{name: "retry-after too long", errs: []*provider.Error{rateLimited(time.Hour)}, wantCalls: 1, want: provider.ErrRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			pol := tc.policy
			pol.Sleep = rec.sleep
			calls := 0
			v, err := provider.Do(context.Background(), pol, "p", func(err error, _ bool) *provider.Error {
				var e *provider.Error
				require.True(t, errors.As(err, &e))
				return e
			}, func(context.Context) (int, error) {
				e := tc.errs[min(calls, len(tc.errs)-1)]
				calls++
				if e == nil {
					return 42, nil
				}
				cp := *e
				return 0, &cp
			})
			require.Equal(t, tc.wantCalls, calls)
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, 42, v)
			} else {
				require.ErrorIs(t, err, tc.want)
				var e *provider.Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, calls, e.Attempts)
			}
			if tc.delays != nil {
				tc.delays(rec.delays)
			}
		})
	}
}

func TestDoStopsWhenTheCallerGivesUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := provider.Do(ctx, provider.Policy{Sleep: (&recorder{}).sleep}, "p",
		func(error, bool) *provider.Error {
			return &provider.Error{Provider: "p", Kind: provider.ErrUnavailable}
		},
		func(context.Context) (int, error) {
			calls++
			cancel()
			return 0, errors.New("connection reset")
		})
	require.ErrorIs(t, err, provider.ErrCanceled)
	require.Equal(t, 1, calls)
}

func TestPolicyFromParams(t *testing.T) {
	t.Parallel()
	p, err := provider.PolicyFromParams(map[string]string{"timeout": "90s", "max_attempts": "2", "retry_base_delay": "250ms"})
	require.NoError(t, err)
	require.Equal(t, 90*time.Second, p.CallTimeout)
	require.Equal(t, 2, p.MaxAttempts)
	require.Equal(t, 250*time.Millisecond, p.BaseDelay)
	require.Equal(t, provider.DefaultPolicy().MaxDelay, p.MaxDelay)
	for _, bad := range []map[string]string{{"timeout": "soon"}, {"max_attempts": "0"}, {"retry_max_delay": "-1s"}} {
		_, err := provider.PolicyFromParams(bad)
		require.Error(t, err)
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	lookup := func(n string) (string, bool) {
		if n == "MY_KEY" {
			return "v", true
		}
		return "", false
	}
	k, err := provider.APIKey("p", lookup, map[string]string{"api_key_env": "MY_KEY"}, "OTHER", true)
	require.NoError(t, err)
	require.Equal(t, "v", k)
	_, err = provider.APIKey("p", lookup, nil, "OTHER", true)
	require.ErrorIs(t, err, provider.ErrNoKey)
	require.Contains(t, err.Error(), "OTHER")
	k, err = provider.APIKey("p", lookup, nil, "OTHER", false)
	require.NoError(t, err)
	require.Empty(t, k)
	_, err = provider.APIKey("p", lookup, map[string]string{"api_key_env": "A=B"}, "OTHER", true)
	require.ErrorIs(t, err, provider.ErrNoKey)
}
