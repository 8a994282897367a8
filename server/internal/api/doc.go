// Package api is the gRPC edge of moosed: one handler type per service, each a
// thin translation between generated proto types and the domain packages, and
// exactly one function (StatusFromError) mapping domain errors to gRPC codes.
// The REST API is the same handlers behind grpc-gateway.
package api
