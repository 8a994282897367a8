// Package proto holds Moose's protobuf sources and, under gen/, the generated
// Go, gateway and OpenAPI code (committed; `make generate` reproduces it). This
// file embeds the merged OpenAPI document so moosed can serve it.
package proto

import _ "embed"

// OpenAPI is the merged OpenAPI 3 document for the public API.
//
//go:embed gen/openapi/moose.openapi.json
var OpenAPI []byte
