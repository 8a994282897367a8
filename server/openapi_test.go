package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// servedOpenAPI fetches /openapi.json (no token: it is public) and loads it
// as an OpenAPI 3 document, failing the test unless it is a valid one.
func servedOpenAPI(t *testing.T, c *clients) *openapi3.T {
	t.Helper()
	resp, err := http.Get(c.base + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "served document is not OpenAPI 3.x (openapi: %q); openapi-typescript and most current generators refuse Swagger 2.0", doc.OpenAPI)
	require.NoError(t, doc.Validate(context.Background()), "served OpenAPI document is invalid")
	return doc
}

// TestOpenAPIIsVersion3 checks that /openapi.json is a valid OpenAPI 3.x
// document covering the REST API.
func TestOpenAPIIsVersion3(t *testing.T) {
	t.Parallel()
	doc := servedOpenAPI(t, start(t))
	for _, path := range []string{"/v1/projects", "/v1/workorders", "/v1/workorders/{id}"} {
		require.NotNil(t, doc.Paths.Value(path), "path %s", path)
	}
	require.NotNil(t, doc.Components.Schemas["v1WorkOrder"], "the work order schema")
}
