package server_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// jsonLines returns the JSON log records written to l so far.
func jsonLines(t *testing.T, l *lockedBuffer) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	return out
}

// TestRequestIDsAndAccessLog: every call has a request id (the caller's
// X-Request-Id, else its traceparent's trace id, else a new one), returned
// in the response and carried by the call's access line, which names the
// method, the status and the token's name, never its secret.
func TestRequestIDsAndAccessLog(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}))
	secret := srv.NamedToken(t, "ci-reader", "read")
	access := func(id string) map[string]any {
		t.Helper()
		for _, l := range jsonLines(t, logs) {
			if l["msg"] == "call" && l["request_id"] == id {
				return l
			}
		}
		t.Fatalf("no access line with request_id %q in:\n%s", id, logs.String())
		return nil
	}

	// REST with the caller's id.
	req, err := http.NewRequest(http.MethodGet, srv.HTTPURL()+"/v1/projects", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("X-Request-Id", "rest-req-42")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "rest-req-42", resp.Header.Get("X-Request-Id"))
	l := access("rest-req-42")
	require.Equal(t, "/moose.v1.ProjectService/ListProjects", l["method"])
	require.Equal(t, "OK", l["code"])
	require.Equal(t, "ci-reader", l["token"])

	// gRPC: the trace id of a traceparent; a denied call is logged too.
	wos := moosev1.NewWorkOrderServiceClient(srv.DialToken(t, secret))
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := metadata.AppendToOutgoingContext(t.Context(), "traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
	var hdr metadata.MD
	_, err = wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: "00000000-0000-0000-0000-000000000001"}, grpc.Header(&hdr))
	require.Error(t, err, "a read token cannot approve")
	require.Equal(t, []string{trace}, hdr.Get("x-request-id"))
	l = access(trace)
	require.Equal(t, "PermissionDenied", l["code"])

	// No id, or one that is not an id: a new one.
	for _, sent := range []string{"", "bad id with spaces"} {
		ctx := t.Context()
		if sent != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", sent)
		}
		var hdr metadata.MD
		_, err = wos.ListWorkOrders(ctx, &moosev1.ListWorkOrdersRequest{}, grpc.Header(&hdr))
		require.NoError(t, err)
		got := hdr.Get("x-request-id")
		require.Len(t, got, 1)
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), got[0])
		access(got[0])
	}
	require.False(t, strings.Contains(logs.String(), secret), "the token's secret is never logged")
}
