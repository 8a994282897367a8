// Command openapi3 turns the Swagger 2.0 document protoc-gen-openapiv2 writes
// into the OpenAPI 3.0 document moosed serves at /openapi.json. `make
// generate` runs it as
//
//	go run ./server/internal/cmd/openapi3 IN.swagger.json OUT.json
//
// protoc-gen-openapiv2 emits Swagger 2.0 only, which current client
// generators (openapi-typescript among them) refuse. kin-openapi's
// openapi2conv does the conversion; this command then adds what the Swagger
// document cannot say or does not know (see convert).
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapi3 IN.swagger.json OUT.json")
		os.Exit(2)
	}
	in, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi3:", err)
		os.Exit(1)
	}
	out, err := convert(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi3:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "openapi3:", err)
		os.Exit(1)
	}
}
