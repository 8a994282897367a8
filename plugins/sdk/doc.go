// Package sdk is everything a Moose plugin author imports.
//
// A plugin is a small program that serves one role for moosed: a proposer turns
// a work order into a proposed change (usually by asking a model), a validator
// inspects a worktree and reports findings, scores and test results. moosed
// launches the program as a child process, talks gRPC to it over a Unix socket
// with mutual TLS (hashicorp/go-plugin), supervises it and restarts it when it
// crashes.
//
// An author writes one file:
//
//	package main
//
//	import "github.com/moosehq/moose/plugins/sdk"
//
//	type echo struct{}
//
//	func (echo) Info() sdk.Info { return sdk.Info{Name: "echo", Version: "0.1.0"} }
//
//	func (echo) Propose(ctx context.Context, req *sdk.ProposeRequest) (*sdk.ProposeResponse, error) {
//		return &sdk.ProposeResponse{Text: req.GetWorkOrder().GetTitle(), Model: "echo"}, nil
//	}
//
//	func main() { sdk.ServeProposer(echo{}) }
//
// The SDK owns the rest: the handshake and protocol version (1), gRPC with
// 64 MiB message limits both ways, a panic in a handler becoming an Internal
// error for that call only, and logs. Write logs with [Logger] (or anything
// that writes hclog JSON lines to stderr); moosed re-emits them as its own
// structured logs. Never write to stdout: go-plugin uses it for the handshake.
//
// The request and response types are the generated messages of the wire
// contract (proto/moose/plugin/v1), aliased here so that a plugin needs a
// single import. Run the conformance suite in package sdktest against the built
// binary before registering it.
package sdk
