package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/moosehq/moose/server/servertest"
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

// restCall sends a REST request with the admin token and decodes the JSON
// answer.
func restCall(t *testing.T, c *clients, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out), "%s %s", method, path)
	return resp.StatusCode, out
}

// okSchema is the schema of an operation's 200 response.
func okSchema(t *testing.T, doc *openapi3.T, method, path string) *openapi3.SchemaRef {
	t.Helper()
	item := doc.Paths.Value(path)
	require.NotNil(t, item, "path %s is not documented", path)
	op := item.GetOperation(method)
	require.NotNil(t, op, "%s %s is not documented", method, path)
	ok := op.Responses.Status(http.StatusOK)
	require.NotNil(t, ok, "%s %s documents no 200", method, path)
	mt := ok.Value.Content.Get("application/json")
	require.NotNil(t, mt, "%s %s documents no JSON 200", method, path)
	return mt.Schema
}

// requireDocumented fails for every key of the JSON value v that its schema
// does not declare, at any depth: a client generated from the document
// would read those fields under other names (or not at all).
func requireDocumented(t *testing.T, where string, v any, s *openapi3.SchemaRef) {
	t.Helper()
	require.NotNil(t, s, "%s: no schema", where)
	switch v := v.(type) {
	case map[string]any:
		if len(s.Value.Properties) == 0 && s.Value.AdditionalProperties.Schema != nil {
			for k, e := range v { // a map field
				requireDocumented(t, where+"."+k, e, s.Value.AdditionalProperties.Schema)
			}
			return
		}
		if s.Value.Type.Is(openapi3.TypeObject) && len(s.Value.Properties) == 0 {
			return // google.protobuf.Struct and the like: any object
		}
		for k, e := range v {
			ps, ok := s.Value.Properties[k]
			if !ok && s.Value.AdditionalProperties.Has != nil && *s.Value.AdditionalProperties.Has {
				continue // google.protobuf.Any: the packed message's fields
			}
			require.True(t, ok, "%s: the server sends %q, the document declares only %v", where, k, slices.Sorted(maps.Keys(s.Value.Properties)))
			requireDocumented(t, where+"."+k, e, ps)
		}
	case []any:
		require.NotNil(t, s.Value.Items, "%s: an array the document does not declare as one", where)
		for i, e := range v {
			requireDocumented(t, fmt.Sprintf("%s[%d]", where, i), e, s.Value.Items)
		}
	}
}

// TestOpenAPIFieldNamesAreTheServers checks the document against what the
// server really sends and accepts: every field of real REST responses is a
// declared property (snake_case proto names, as the gateway's marshaller
// writes them), the list's query parameters are documented under the names
// the gateway honours, and every schema of a moose.v1 message declares
// exactly the message's proto field names.
func TestOpenAPIFieldNamesAreTheServers(t *testing.T) {
	t.Parallel()
	c := start(t)
	doc := servedOpenAPI(t, c)

	code, created := restCall(t, c, "POST", "/v1/projects", `{"name":"calc","repo_url":"https://git.example.com/repos/calc","default_branch":"main","language":"go"}`)
	require.Equal(t, http.StatusOK, code, created)
	requireDocumented(t, "POST /v1/projects", created, okSchema(t, doc, "POST", "/v1/projects"))
	projectID := created["project"].(map[string]any)["id"].(string)
	other := c.project(t, "other")

	var ids []string
	for i, p := range []string{projectID, projectID, other.GetId()} {
		code, wo := restCall(t, c, "POST", "/v1/workorders", fmt.Sprintf(`{"project_id":%q,"title":"Add Mod %d","complexity":3,"acceptance_criteria":["Mod(7,3)==1"],"metadata":{"k":"v"}}`, p, i))
		require.Equal(t, http.StatusOK, code, wo)
		requireDocumented(t, "POST /v1/workorders", wo, okSchema(t, doc, "POST", "/v1/workorders"))
		ids = append(ids, wo["work_order"].(map[string]any)["id"].(string))
	}
	code, got := restCall(t, c, "GET", "/v1/workorders/"+ids[0], "")
	require.Equal(t, http.StatusOK, code, got)
	requireDocumented(t, "GET /v1/workorders/{id}", got, okSchema(t, doc, "GET", "/v1/workorders/{id}"))
	require.Contains(t, got["work_order"], "acceptance_criteria", "the gateway writes proto names")
	code, evs := restCall(t, c, "GET", "/v1/workorders/"+ids[0]+"/events", "")
	require.Equal(t, http.StatusOK, code, evs)
	requireDocumented(t, "GET /v1/workorders/{id}/events", evs, okSchema(t, doc, "GET", "/v1/workorders/{id}/events"))

	// The list's query parameters, as documented, and honoured under those
	// names: a page of one of the project's two work orders, then the next.
	var query []string
	for _, p := range doc.Paths.Value("/v1/workorders").Get.Parameters {
		if p.Value.In == openapi3.ParameterInQuery {
			query = append(query, p.Value.Name)
		}
	}
	require.ElementsMatch(t, []string{"project_id", "status", "page_size", "page_token"}, query)
	listSchema := okSchema(t, doc, "GET", "/v1/workorders")
	var listed []string
	for token, page := "", 0; page == 0 || token != ""; page++ {
		require.Less(t, page, 3, "more pages than work orders")
		code, list := restCall(t, c, "GET", "/v1/workorders?project_id="+projectID+"&status=pending&page_size=1&page_token="+url.QueryEscape(token), "")
		require.Equal(t, http.StatusOK, code, list)
		requireDocumented(t, "GET /v1/workorders", list, listSchema)
		wos := list["work_orders"].([]any)
		require.Len(t, wos, 1, "page_size=1")
		listed = append(listed, wos[0].(map[string]any)["id"].(string))
		token, _ = list["next_page_token"].(string)
	}
	require.Equal(t, ids[:2], listed, "project_id filters, page_size and page_token page")

	// Every moose.v1 message's schema has exactly its proto field names.
	checked := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("moose.v1", func(fd protoreflect.FileDescriptor) bool {
		var walk func(protoreflect.MessageDescriptors)
		walk = func(msgs protoreflect.MessageDescriptors) {
			for i := range msgs.Len() {
				md := msgs.Get(i)
				walk(md.Messages())
				if md.IsMapEntry() {
					continue
				}
				name := "v1" + strings.ReplaceAll(strings.TrimPrefix(string(md.FullName()), "moose.v1."), ".", "")
				s := doc.Components.Schemas[name]
				if s == nil {
					continue // a request message sent as query or path parameters
				}
				var want []string
				for j := range md.Fields().Len() {
					want = append(want, string(md.Fields().Get(j).Name()))
				}
				require.ElementsMatch(t, want, slices.Collect(maps.Keys(s.Value.Properties)), "schema %s", name)
				checked++
			}
		}
		walk(fd.Messages())
		return true
	})
	require.Greater(t, checked, 50, "schemas compared with their messages")
}

// expressParam is what generators that turn OpenAPI paths into
// Express-style routes (or parse ":name" as a parameter themselves) read as
// a path parameter: a colon followed by a name.
var expressParam = regexp.MustCompile(`:[A-Za-z_][A-Za-z0-9_]*`)

// TestOpenAPICustomMethodPathsDeclareNoPhantomParameters checks that
// custom-method paths (AIP-136 verbs: /v1/workorders/{id}:approve) are
// written so no generator reads the verb as a path parameter, and that the
// path exactly as documented still reaches its method on the server.
func TestOpenAPICustomMethodPathsDeclareNoPhantomParameters(t *testing.T) {
	t.Parallel()
	c := start(t)
	doc := servedOpenAPI(t, c)

	verbs := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		require.Empty(t, expressParam.FindAllString(path, -1), "path %s: generators read these as path parameters the document does not declare", path)
		if strings.Contains(path, "%3A") {
			verbs++
		}
		// Every operation, its path filled in as a generated client does,
		// is routed: without a token that is 401 from the auth interceptor,
		// where an unrouted path would be the gateway's 404.
		for method := range doc.Paths.Value(path).Operations() {
			filled := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x")
			req, err := http.NewRequest(method, c.base+filled, strings.NewReader("{}"))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s (as %s) is not routed", method, path, filled)
		}
	}
	require.GreaterOrEqual(t, verbs, 13, "custom methods with an escaped verb colon")

	// The documented approve path approves.
	p := c.project(t, "calc")
	code, wo := restCall(t, c, "POST", "/v1/workorders", fmt.Sprintf(`{"project_id":%q,"title":"Add Mod","complexity":3,"acceptance_criteria":["Mod(7,3)==1"]}`, p.GetId()))
	require.Equal(t, http.StatusOK, code, wo)
	id := wo["work_order"].(map[string]any)["id"].(string)
	require.NotNil(t, doc.Paths.Value("/v1/workorders/{id}%3Aapprove"), "the approve path as documented")
	code, approved := restCall(t, c, "POST", "/v1/workorders/"+id+"%3Aapprove", "{}")
	require.Equal(t, http.StatusOK, code, approved)
	require.Equal(t, "WORK_ORDER_STATUS_APPROVED", approved["work_order"].(map[string]any)["status"])
	// The colon itself keeps working (README, curl, moosectl users).
	code, cancelled := restCall(t, c, "POST", "/v1/workorders/"+id+":cancel", "{}")
	require.Equal(t, http.StatusOK, code, cancelled)
}

// TestOpenAPIDocumentsAuthAndErrors checks that the document declares the
// bearer token every operation needs and the error responses moosed sends,
// and that real errors (401, 403, 404, 400 for invalid input and for an
// illegal transition, 409, 415) come with a status the operation documents
// and a body its schema declares.
func TestOpenAPIDocumentsAuthAndErrors(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	c := dial(t, srv)
	doc := servedOpenAPI(t, c)

	var bearer string
	for name, s := range doc.Components.SecuritySchemes {
		if s.Value.Type == "http" && strings.EqualFold(s.Value.Scheme, "bearer") {
			bearer = name
		}
	}
	require.NotEmpty(t, bearer, "no http bearer security scheme")
	require.Len(t, doc.Security, 1)
	require.Contains(t, doc.Security[0], bearer, "the bearer token is not required by default")

	errorSchema := func(op *openapi3.Operation, status int) *openapi3.SchemaRef {
		r := op.Responses.Status(status)
		if r == nil {
			return nil
		}
		return r.Value.Content.Get("application/json").Schema
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			require.True(t, op.Security == nil || len(*op.Security) > 0, "%s %s opts out of the bearer token", method, path)
			statuses := []int{400, 401, 403, 404, 409, 429, 503}
			if op.RequestBody != nil {
				statuses = append(statuses, 413, 415)
			}
			for _, st := range statuses {
				s := errorSchema(op, st)
				require.NotNil(t, s, "%s %s does not document %d", method, path, st)
				require.Equal(t, "#/components/schemas/rpcStatus", s.Ref, "%s %s %d", method, path, st)
			}
		}
	}

	p := c.project(t, "calc")
	code, wo := restCall(t, c, "POST", "/v1/workorders", fmt.Sprintf(`{"project_id":%q,"title":"Add Mod","complexity":3,"acceptance_criteria":["Mod(7,3)==1"]}`, p.GetId()))
	require.Equal(t, http.StatusOK, code, wo)
	pending := wo["work_order"].(map[string]any)["id"].(string)
	reader := servertest.HTTPClientWithToken(srv.Token(t, "read"))
	for _, tc := range []struct {
		name, method, docPath, path, contentType, body string
		client                                         *http.Client
		want                                           int
	}{
		{"no token", "GET", "/v1/workorders", "/v1/workorders", "", "", http.DefaultClient, 401},
		{"read token writes", "POST", "/v1/projects", "/v1/projects", "application/json", `{"name":"x","repo_url":"https://git.example.com/x","default_branch":"main","language":"go"}`, reader, 403},
		{"unknown work order", "GET", "/v1/workorders/{id}", "/v1/workorders/" + uuid.NewString(), "", "", c.http, 404},
		{"invalid work order", "POST", "/v1/workorders", "/v1/workorders", "application/json", fmt.Sprintf(`{"project_id":%q,"complexity":11}`, p.GetId()), c.http, 400},
		{"retry a pending work order", "POST", "/v1/workorders/{id}%3Aretry", "/v1/workorders/" + pending + "%3Aretry", "application/json", "{}", c.http, 400},
		{"project name taken", "POST", "/v1/projects", "/v1/projects", "application/json", `{"name":"calc","repo_url":"https://git.example.com/calc2","default_branch":"main","language":"go"}`, c.http, 409},
		{"not JSON", "POST", "/v1/projects", "/v1/projects", "text/plain", "name=calc", c.http, 415},
	} {
		req, err := http.NewRequest(tc.method, c.base+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := tc.client.Do(req)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), tc.name)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode, "%s: %v", tc.name, body)
		s := errorSchema(doc.Paths.Value(tc.docPath).GetOperation(tc.method), tc.want)
		require.NotNil(t, s, "%s: %s %s does not document the %d it answers", tc.name, tc.method, tc.docPath, tc.want)
		requireDocumented(t, tc.name, body, s)
		require.NotEmpty(t, body["message"], tc.name)
		require.NotZero(t, body["code"], tc.name)
	}
}
