// Command moosed is the Moose server: the gRPC and REST API, the work-order
// lifecycle, execution, and all state in PostgreSQL (a private embedded
// cluster unless --database-url is given). Every flag can also be set by the
// environment variable named in its help.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/version"
)

// durationEnv parses a duration from the environment, falling back to 5m.
func durationEnv(v string) time.Duration { return durationEnvOr(v, 5*time.Minute) }

func durationEnvOr(v string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil {
		return def
	}
	return d
}

func main() {
	var cfg server.Config
	fs := flag.NewFlagSet("moosed", flag.ExitOnError)
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(server.Env[name]); ok {
			return v
		}
		return def
	}
	usage := func(name, text string) string { return fmt.Sprintf("%s (env %s)", text, server.Env[name]) }
	str := func(p *string, name, def, text string) { fs.StringVar(p, name, env(name, def), usage(name, text)) }
	num := func(p *int, name string, def int, text string) {
		if v, err := strconv.Atoi(env(name, strconv.Itoa(def))); err == nil {
			def = v
		}
		fs.IntVar(p, name, def, usage(name, text))
	}
	var githubHosts, corsOrigins, repoRoots, builtinBaseURLs string
	var logLevel string
	str(&cfg.GRPCAddr, "grpc-addr", "127.0.0.1:7400", "gRPC listen address")
	str(&cfg.HTTPAddr, "http-addr", "127.0.0.1:7401", "REST/OpenAPI listen address")
	str(&cfg.DataDir, "data-dir", server.DefaultDataDir(), "data directory (embedded PostgreSQL, workspaces, plugin state)")
	str(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL; empty starts the embedded cluster under --data-dir")
	str(&cfg.PluginDir, "plugin-dir", "", "directory holding plugin binaries (default: beside moosed)")
	num(&cfg.Concurrency, "concurrency", 15, "work orders executed at once on this node")
	num(&cfg.ContextBudget, "context-budget", 64<<10, "bytes of project context sent to a proposer")
	num(&cfg.WorkspacePoolSize, "workspace-pool", 4, "warm worktrees kept per project")
	num(&cfg.WorkspaceMaxPerProject, "workspace-max", 16, "worktrees of one project checked out at once")
	num(&cfg.MaxRefinements, "max-refinements", 2, "refinement cycles after a failing proposal (-1: none)")
	num(&cfg.MaxAttempts, "max-attempts", 5, "tries of an execution that fails for a system reason before its work order fails")
	num(&cfg.SandboxWriteMiB, "sandbox-write-mib", 1024, "MiB one validation may write into its worktree")
	num(&cfg.SandboxTmpMiB, "sandbox-tmp-mib", 512, "MiB of /tmp one validation gets")
	fs.DurationVar(&cfg.SandboxCPUTime, "sandbox-cpu", durationEnv(env("sandbox-cpu", "5m")), usage("sandbox-cpu", "CPU time one sandboxed process may use"))
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", durationEnvOr(env("drain-timeout", "60s"), time.Minute), usage("drain-timeout", "how long running executions may finish after SIGTERM before they are re-queued"))
	str(&cfg.BuildCacheSeed, "build-cache-seed", "", "directory of the seed new projects' build caches start from (default: DATA-DIR/caches/seed)")
	num(&cfg.MaxStreamsPerToken, "max-streams", 100, "watch streams one token may hold open at once")
	fs.DurationVar(&cfg.NodeLease, "node-lease", durationEnvOr(env("node-lease", "30s"), 30*time.Second), usage("node-lease", "how long an executing node lives without renewing its lease before other nodes take its work over"))
	str(&cfg.GitConfig, "git-config", "", "git configuration file read by moosed's git commands (url.insteadOf, http.proxy); hooks, filters and helpers stay off")
	fs.DurationVar(&cfg.BuildTimeout, "build-timeout", durationEnv(env("build-timeout", "5m")), usage("build-timeout", "default time limit of each build command (a project or work order may set its own)"))
	fs.DurationVar(&cfg.TestTimeout, "test-timeout", durationEnv(env("test-timeout", "5m")), usage("test-timeout", "default time limit of the test command (a project or work order may set its own)"))
	fs.DurationVar(&cfg.ProposeTimeout, "propose-timeout", durationEnv(env("propose-timeout", "5m")), usage("propose-timeout", "time limit of one proposer call"))
	fs.DurationVar(&cfg.ExecutionTimeout, "execution-timeout", durationEnvOr(env("execution-timeout", "0"), 0), usage("execution-timeout", "time budget of one execution (0: the sum of its proposer, build and test limits)"))
	num(&cfg.MaxMutants, "max-mutants", 20, "test-strength mutants per attempt (-1: no mutation testing)")
	var mutationSecs int
	num(&mutationSecs, "mutation-time", 30, "seconds of test-strength mutants per attempt")
	str(&cfg.PublishRemote, "publish-remote", "", "git URL finished changes are pushed to for projects not on GitHub (default: the project's repository)")
	str(&cfg.GitHubBaseURL, "github-base-url", "", "GitHub Enterprise API URL (token from env GITHUB_TOKEN)")
	str(&githubHosts, "github-hosts", "", "comma-separated extra hosts published through the GitHub API")
	str(&logLevel, "log-level", "info", "debug, info, warn or error")
	var logFormat string
	str(&logFormat, "log-format", "text", "text or json")
	str(&cfg.AdminTokenFile, "admin-token-file", "", "where the first admin token is written when the database has none (default: admin.token in --data-dir)")
	str(&cfg.TLSCert, "tls-cert", "", "PEM certificate: serve gRPC and REST over TLS (with --tls-key)")
	str(&cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	str(&cfg.TLSClientCA, "tls-client-ca", "", "PEM CA certificates: require client certificates they signed, on both listeners")
	str(&corsOrigins, "cors-origins", "", "comma-separated origins (https://ui.example.com, or *) allowed to call REST from a browser; default none")
	str(&builtinBaseURLs, "builtin-base-urls", "", "comma-separated PLUGIN=URL pairs: more endpoints a built-in model plugin may send its API key to (besides the provider's official API)")
	str(&repoRoots, "repo-roots", "", "comma-separated directories under which projects may use local paths or file:// repo_urls; default none")
	fs.BoolVar(&cfg.APIOnly, "api-only", env("api-only", "") == "1", usage("api-only", "serve the API and schedule work orders, execute none"))
	fs.BoolVar(&cfg.WarmProjects, "warm-projects", env("warm-projects", "1") != "0", usage("warm-projects", "run a new project's tests once when it is registered (build cache, baseline), so its first work order does not pay for them"))
	fs.BoolVar(&cfg.Unsandboxed, "unsandboxed", env("unsandboxed", "") == "1", usage("unsandboxed", "let validators run generated code WITHOUT the bubblewrap sandbox (explicit opt-out)"))
	showVersion := fs.Bool("version", false, "print the version and the commit moosed was built from, and exit")
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println(version.String("moosed"))
		return
	}
	cfg.MutationTime = time.Duration(mutationSecs) * time.Second
	cfg.GitHubToken = os.Getenv("GITHUB_TOKEN")
	cfg.GitHubHosts = list(githubHosts)
	cfg.CORSOrigins = list(corsOrigins)
	cfg.RepoRoots = list(repoRoots)
	for _, pair := range list(builtinBaseURLs) {
		name, u, ok := strings.Cut(pair, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "moosed: --builtin-base-urls: %q is not PLUGIN=URL\n", pair)
			os.Exit(2)
		}
		if cfg.BuiltinBaseURLs == nil {
			cfg.BuiltinBaseURLs = server.DefaultBuiltinBaseURLs()
		}
		cfg.BuiltinBaseURLs[name] = append(cfg.BuiltinBaseURLs[name], u)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "moosed: --log-level:", err)
		os.Exit(2)
	}
	switch logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	default:
		fmt.Fprintf(os.Stderr, "moosed: --log-format: %q is neither text nor json\n", logFormat)
		os.Exit(2)
	}

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

// list splits a comma-separated flag value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
