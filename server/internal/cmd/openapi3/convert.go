package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// convert turns a Swagger 2.0 document into the OpenAPI 3.0 document moosed
// serves, validated, as indented JSON: custom-method verbs escaped
// (escapeVerb), the bearer token scheme every operation needs, and the error
// responses moosed sends. The output depends only on the input
// (encoding/json sorts map keys), so `make generate` is reproducible.
func convert(swagger []byte) ([]byte, error) {
	var doc2 openapi2.T
	if err := json.Unmarshal(swagger, &doc2); err != nil {
		return nil, fmt.Errorf("read swagger document: %w", err)
	}
	doc, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert to openapi 3: %w", err)
	}
	paths := openapi3.NewPaths()
	for path, item := range doc.Paths.Map() {
		paths.Set(escapeVerb(path), item)
		for _, op := range item.Operations() {
			// openapi2conv keeps the Swagger body parameter's name ("body")
			// for converting back; nothing reads it in a 3.x document.
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				delete(op.RequestBody.Value.Extensions, "x-originalParamName")
			}
		}
	}
	doc.Paths = paths
	addSecurity(doc)
	// The Swagger document names no host: moosed's address is the
	// operator's choice. Its default is the one server a client can assume.
	doc.Servers = openapi3.Servers{{URL: "http://127.0.0.1:7401", Description: "moosed's default --http-addr (https with --tls-cert and --tls-key)"}}
	if err := addErrorResponses(doc); err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("converted document is invalid: %w", err)
	}
	return marshal(doc)
}

// marshal writes doc as JSON indented by two spaces, ending in a newline.
func marshal(doc *openapi3.T) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal openapi document: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("indent openapi document: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// escapeVerb writes the colon of a custom method's verb (AIP-136:
// /v1/workorders/{id}:approve) as %3A. Generators that map OpenAPI paths to
// Express-style routes, or parse ":name" themselves, read ":approve" as a
// path parameter the document never declares; an escaped colon they leave
// alone. moosed routes both spellings alike: the gateway matches the
// percent-decoded path.
func escapeVerb(path string) string {
	seg := strings.LastIndexByte(path, '/') + 1
	depth := 0
	for i := seg; i < len(path); i++ {
		switch path[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ':':
			if depth == 0 {
				return path[:i] + "%3A" + path[i+1:]
			}
		}
	}
	return path
}

// addSecurity declares the bearer token every REST call needs (/openapi.json
// and /healthz, which need none, are not in the document).
func addSecurity(doc *openapi3.T) {
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{
		"bearer": {Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer").
			WithDescription("A Moose token (moose_...): the admin token moosed writes to admin.token in its data dir, or one from `moosectl token create NAME --scope read|write|admin`. Read, write and admin scopes nest; a call needing a wider scope gets 403.")},
	}
	doc.Security = *openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate("bearer"))
}

// errorResponse is one HTTP status moosed answers with its error body
// (google.rpc.Status as JSON: code, message, details), and the gRPC codes
// (grpc-gateway's mapping) or REST checks that produce it.
type errorResponse struct {
	status int
	name   string
	desc   string
	body   bool // only for operations that take a request body
}

// errorResponses are the statuses every operation may answer with. 412 is
// not among them: the gateway maps FailedPrecondition to 400, deliberately.
var errorResponses = []errorResponse{
	{400, "BadRequest", "Invalid request (InvalidArgument: one google.rpc.BadRequest field violation per problem, every problem at once), an illegal state transition (FailedPrecondition), or text that is not valid UTF-8.", false},
	{401, "Unauthorized", "No valid bearer token (Unauthenticated).", false},
	{403, "Forbidden", "The token lacks the scope the call needs (PermissionDenied; the message names the scope), or a cross-origin request from an origin not in --cors-origins.", false},
	{404, "NotFound", "The resource, or one the request names, does not exist (NotFound).", false},
	{409, "Conflict", "The resource already exists (AlreadyExists: a name taken) or was changed concurrently (Aborted).", false},
	{413, "PayloadTooLarge", "The request body is larger than 16 MiB.", true},
	{415, "UnsupportedMediaType", "The request body is not application/json.", true},
	{429, "TooManyRequests", "Too much held at once (ResourceExhausted): more watches than --max-streams for the token, or a watch reader that took nothing for too long.", false},
	{503, "ServiceUnavailable", "The database is unavailable (Unavailable); retry later.", false},
}

// addErrorResponses documents errorResponses on every operation, as shared
// components with the error schema, beside the default response the
// Swagger document has for anything else (500, 504, ...).
func addErrorResponses(doc *openapi3.T) error {
	const statusSchema = "rpcStatus"
	if doc.Components.Schemas[statusSchema] == nil {
		return fmt.Errorf("no %s schema to document errors with", statusSchema)
	}
	schema := &openapi3.SchemaRef{Ref: "#/components/schemas/" + statusSchema, Value: doc.Components.Schemas[statusSchema].Value}
	doc.Components.Responses = openapi3.ResponseBodies{}
	for _, e := range errorResponses {
		doc.Components.Responses[e.name] = &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(e.desc).WithJSONSchemaRef(schema)}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, e := range errorResponses {
				if e.body && op.RequestBody == nil {
					continue
				}
				op.Responses.Set(strconv.Itoa(e.status), &openapi3.ResponseRef{Ref: "#/components/responses/" + e.name, Value: doc.Components.Responses[e.name].Value})
			}
		}
	}
	return nil
}
