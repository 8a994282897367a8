package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/sdk"
)

// fake answers POST /v1/chat/completions with content and finish reason,
// recording the user message it received.
func fake(t *testing.T, content, finish string, gotUser *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/chat/completions" || json.Unmarshal(b, &body) != nil || len(body.Messages) != 2 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		*gotUser = body.Messages[1].Content
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":%q}],
"usage":{"prompt_tokens":900,"completion_tokens":300,"total_tokens":1200}}`, content, finish)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDecompose(t *testing.T) {
	t.Parallel()
	plan := "Here you go:\n```json\n{\"work_orders\":[{\"title\":\"Add modulo\",\"description\":\"d\",\"acceptance_criteria\":[\"7 % 3 is 1\"],\"complexity\":3}," +
		"{\"title\":\"Add pow\",\"acceptance_criteria\":[\"2^3^2 is 512\"],\"complexity\":5}]}\n```"
	var user string
	srv := fake(t, plan, "stop", &user)
	a := newArchitect(func(string) (string, bool) { return "", false }, srv.Client())
	resp, err := a.Decompose(context.Background(), &sdk.DecomposeRequest{
		Spec: "# Calc\n\nAdd modulo and pow.", SpecName: "calc.md", MaxWorkOrders: 5,
		Config: &sdk.ArchitectConfig{Model: "gpt-4o-mini", BaseUrl: srv.URL + "/v1"},
	})
	require.NoError(t, err)
	require.Len(t, resp.GetWorkOrders(), 2)
	require.Equal(t, "Add pow", resp.GetWorkOrders()[1].GetTitle())
	require.EqualValues(t, 5, resp.GetWorkOrders()[1].GetComplexity())
	require.EqualValues(t, 900, resp.GetInputTokens())
	require.Len(t, resp.GetPromptHash(), 64)
	require.Contains(t, user, "Add modulo and pow.")
	require.Contains(t, user, "at most 5 work orders")
}

func TestDecomposeRefusesTruncatedAndUnparsablePlans(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ content, finish string }{
		{`{"work_orders":[{"title":"Add modulo","descr`, "length"},
		{"Sorry, I can't.", "stop"},
	} {
		var user string
		srv := fake(t, tc.content, tc.finish, &user)
		a := newArchitect(nil, srv.Client())
		_, err := a.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: "spec",
			Config: &sdk.ArchitectConfig{Model: "m", BaseUrl: srv.URL + "/v1"}})
		require.Equal(t, codes.FailedPrecondition, status.Code(err), tc.content)
	}
}
