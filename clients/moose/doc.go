// Package moose is the Go client for moosed, the Moose work-order server.
//
// Dial returns a Client holding one gRPC connection. Typed methods cover the
// stable surface (projects and work orders): they take and return the
// generated messages from github.com/moosehq/moose/proto/gen/moose/v1, add
// context to errors, and hide paging (AllProjects, AllWorkOrders) and stream
// handling (Watch, WatchUntilDone).
//
// Services that do not have wrappers yet (plugins, variants, experiments, ...)
// are reachable through the raw connection:
//
//	plugins := moosev1.NewPluginServiceClient(c.Conn())
//
// Errors returned by the methods wrap the gRPC status error, so
// status.Code(err) and errors.Is/As keep working; Status and FieldViolations
// recover the server's own message and the per-field problems of an
// InvalidArgument answer (google.rpc.BadRequest details).
//
// Security: by default Dial talks plaintext to loopback addresses and unix
// sockets (how moosed listens out of the box) and TLS with the system roots to
// anything else. WithInsecure and WithTransportCredentials override that.
package moose
