package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestRESTHygiene: only JSON bodies, no cross-origin calls unless configured,
// and the right status for a wrong method, an oversized body and text that
// is not UTF-8.
func TestRESTHygiene(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly(),
		servertest.WithConfig(func(c *server.Config) { c.CORSOrigins = []string{"https://ui.example.com"} }))
	c := srv.HTTPClient()
	do := func(method, path, contentType string, body io.Reader, header ...string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.HTTPURL()+path, body)
		require.NoError(t, err)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp, out
	}
	project := `{"name":"p","repo_url":"https://example.com/p.git","default_branch":"main","language":"go"}`

	resp, _ := do("POST", "/v1/projects", "text/plain", strings.NewReader(project))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "a text/plain POST (what a cross-site form can send) is refused")
	resp, _ = do("POST", "/v1/projects", "application/x-www-form-urlencoded", strings.NewReader(project))
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	resp, body := do("POST", "/v1/projects", "application/json; charset=utf-8", strings.NewReader(project))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	pid := body["project"].(map[string]any)["id"].(string)
	resp, body = do("POST", "/v1/workorders", "application/json", strings.NewReader(`{"project_id":"`+pid+`","title":"t","complexity":1}`))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	wo := body["work_order"].(map[string]any)["id"].(string)
	resp, body = do("POST", "/v1/workorders/"+wo+":approve", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a POST without a body needs no content type: %v", body)

	resp, _ = do("DELETE", "/v1/projects", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, _ = do("PATCH", "/v1/workorders/"+wo, "application/json", strings.NewReader(`{}`))
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, _ = do("POST", "/healthz", "", nil)
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	big := bytes.Repeat([]byte("a"), 17<<20)
	resp, body = do("POST", "/v1/projects", "application/json", bytes.NewReader([]byte(`{"name":"`+string(big)+`"}`)))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, body)

	resp, body = do("GET", "/v1/variants/%ff%fe", "", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	require.Contains(t, body["message"], "UTF-8")
	resp, _ = do("GET", "/v1/workorders?project_id=%ff", "", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, body = do("POST", "/v1/projects", "application/json", bytes.NewReader([]byte("{\"name\":\"\xff\xfe\"}")))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)

	// CORS: a configured origin gets the headers and a preflight answer; any
	// other origin is refused outright.
	resp, _ = do("OPTIONS", "/v1/projects", "", nil, "Origin", "https://ui.example.com", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, "https://ui.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	resp, _ = do("GET", "/v1/projects", "", nil, "Origin", "https://ui.example.com")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "https://ui.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = do("GET", "/v1/projects", "", nil, "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = do("POST", "/v1/projects", "application/json", strings.NewReader(project), "Origin", "https://evil.example")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// TestNoCrossOriginByDefault: without --cors-origins no origin but the
// server's own may call.
func TestNoCrossOriginByDefault(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	req, err := http.NewRequest("OPTIONS", srv.HTTPURL()+"/v1/projects", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	req, err = http.NewRequest("GET", srv.HTTPURL()+"/v1/projects", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", srv.HTTPURL())
	resp, err = srv.HTTPClient().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "same origin is fine")
}
