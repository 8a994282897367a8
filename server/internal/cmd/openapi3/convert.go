package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// convert turns a Swagger 2.0 document into the OpenAPI 3.0 document moosed
// serves, validated, as indented JSON. The output depends only on the input
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
