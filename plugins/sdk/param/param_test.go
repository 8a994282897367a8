package param_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/sdk/param"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		wantErr     string
	}{
		{"seed", "42", ""},
		{"seed", "-7", ""},
		{"seed", "4.2", "not an integer"},
		{"top_p", "0.9", ""},
		{"top_p", "1.5", "from 0 to 1"},
		{"top_p", "NaN", "from 0 to 1"},
		{"top_k", "40", ""},
		{"top_k", "0", "positive integer"},
		{"reasoning_effort", "minimal", ""},
		{"reasoning_effort", "extreme", "not one of"},
		{"stop", "END", ""},
		{"stop", `["a", "b"]`, ""},
		{"stop", `["a", ""]`, "none empty"},
		{"stop", `["a"`, "JSON array"},
		{"extra", `{"top_k": 20}`, ""},
		{"extra", `[1]`, "not a JSON object"},
		{"extra", `{} {}`, "single JSON object"},
		{"extra", `{"messages": []}`, `may not set "messages"`},
		{"timeout", "90s", ""},
		{"timeout", "soon", "not a duration"},
		{"max_attempts", "0", "positive integer"},
		{"temperature", "omit", ""},
		{"temperature", "0.3", `must be "omit"`},
		{"max_tokens_field", "max_completion_tokens", ""},
		{"max_tokens_field", "limit", "must be"},
		{"prompt_cache", "off", ""},
		{"prompt_cache", "maybe", "on or off"},
		{"api_key_env", "VLLM_KEY", ""},
		{"api_key_env", "$(id)", "not an environment variable name"},
		{"cassette", "anything goes", ""},
	}
	for _, tc := range tests {
		err := param.Check(tc.name, tc.value)
		if tc.wantErr == "" {
			require.NoError(t, err, "%s=%s", tc.name, tc.value)
		} else {
			require.ErrorContains(t, err, tc.wantErr, "%s=%s", tc.name, tc.value)
		}
	}
}

func TestParseExtraKeepsNumbersAsWritten(t *testing.T) {
	t.Parallel()
	m, err := param.ParseExtra(`{"seed": 12345678901234567890, "nested": {"x": 1.5}}`)
	require.NoError(t, err)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.JSONEq(t, `{"seed": 12345678901234567890, "nested": {"x": 1.5}}`, string(b))
	require.Contains(t, string(b), "12345678901234567890")
}
