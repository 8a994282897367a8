// Command moosed is the Moose server: the gRPC and REST API, the work-order
// lifecycle and all state in PostgreSQL (a private embedded cluster unless
// --database-url is given).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/moosehq/moose/server"
)

func main() {
	var cfg server.Config
	fs := flag.NewFlagSet("moosed", flag.ExitOnError)
	str := func(p *string, name, def, usage string) {
		if v := os.Getenv(server.Env[name]); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, server.Env[name]))
	}
	str(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7400", "gRPC listen address")
	str(&cfg.HTTPAddr, "http-addr", "127.0.0.1:7401", "REST/OpenAPI listen address")
	str(&cfg.DataDir, "data-dir", server.DefaultDataDir(), "data directory (embedded PostgreSQL, workspaces)")
	str(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL; empty starts the embedded cluster under --data-dir")
	str(&cfg.PluginDir, "plugin-dir", "", "directory holding plugin binaries (default: beside moosed)")
	_ = fs.Parse(os.Args[1:])
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "moosed:", err)
		os.Exit(1)
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "moosed:", err)
		os.Exit(1)
	}
}
