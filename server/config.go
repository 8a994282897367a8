package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moosehq/moose/server/internal/pluginhost"
)

// Config is everything moosed needs to start. Zero values take the defaults
// documented on each field; Validate reports every problem at once.
type Config struct {
	// GRPCAddr is the gRPC listen address (default 127.0.0.1:7400; port 0 picks one).
	GRPCAddr string
	// HTTPAddr is the REST/OpenAPI listen address (default 127.0.0.1:7401).
	HTTPAddr string
	// DataDir holds the embedded PostgreSQL cluster, workspaces and plugin
	// state (default: /var/lib/moose as root, else $XDG_DATA_HOME/moose).
	DataDir string
	// DatabaseURL points at an existing PostgreSQL; empty starts the embedded one.
	DatabaseURL string
	// PluginDir is where plugin binaries must live (default: the directory of
	// the moosed binary). Its manifest (pluginhost.ManifestFile, written by
	// make build) names the built-ins. It and the manifest must not be
	// writable by group or others, and must be owned by root or moosed's user.
	PluginDir string
	// Concurrency is how many work orders this node executes at once (default 15).
	Concurrency int
	// Validators run in order on every cycle (default build, test, static).
	Validators []string
	// Unsandboxed lets validators run generated code without bubblewrap. Only
	// for hosts where no sandbox can work and the code is trusted anyway.
	Unsandboxed bool
	// WarmProjects warms every newly registered project up: a worktree of
	// its default branch and its tests run once as a baseline, filling its
	// build cache before its first work order (moosed: on by default).
	WarmProjects bool
	// APIOnly makes this node accept and schedule work orders without executing
	// any: other nodes sharing the database run them.
	APIOnly bool
	// MaxRefinements is how many refinement cycles a failing proposal gets
	// (0 means the default, 2; -1 means none).
	MaxRefinements int
	// MaxAttempts is how often an execution that fails for a system reason
	// (a crash, a plugin error, its time budget) is tried before its work
	// order fails (default 5). Shutdown and drain re-queue without using one.
	MaxAttempts int
	// ContextBudget caps the project context sent to a proposer, in bytes
	// (default 64 KiB).
	ContextBudget int
	// MaxMutants bounds test-strength mutants per attempt (0: the
	// validators' default, 20; -1: no mutation testing).
	MaxMutants int
	// BuildTimeout and TestTimeout are the default time limits of the build
	// step's commands and of the test command (default 5m each); a project's
	// or work order's own build_timeout/test_timeout take precedence.
	BuildTimeout, TestTimeout time.Duration
	// ProposeTimeout bounds one proposer call (default 5m).
	ProposeTimeout time.Duration
	// ExecutionTimeout, when set, is the time budget of every execution;
	// by default an execution's budget is the sum of the limits of what it
	// may run (proposer calls, builds, tests, mutants) for its work order.
	ExecutionTimeout time.Duration
	// MutationTime bounds the wall time of those mutants per attempt (0: the
	// validators' default, 30 s).
	MutationTime time.Duration
	// WorkspacePoolSize is how many warm worktrees are kept per project (default 4).
	WorkspacePoolSize int
	// WorkspaceMaxPerProject bounds the worktrees of one project checked out
	// at once; executions beyond it wait (default 16).
	WorkspaceMaxPerProject int
	// PublishRemote is where finished changes are pushed for projects not on
	// GitHub (any git URL, e.g. a local bare repository). Empty pushes to the
	// project's own repository URL.
	PublishRemote string
	// DisablePublish turns publishing off (changes stay in attempts only).
	DisablePublish bool
	// GitHubToken opens pull requests on GitHub (default: $GITHUB_TOKEN). It is
	// never stored, logged or shown.
	GitHubToken string
	// GitHubBaseURL is the API URL of a GitHub Enterprise server.
	GitHubBaseURL string
	// GitHubHosts are extra hosts whose repositories are published through the GitHub API.
	GitHubHosts []string
	// SandboxWriteMiB is the write quota of one validation's tree in MiB
	// (default 1024); SandboxTmpMiB the size of its /tmp (default 512).
	SandboxWriteMiB, SandboxTmpMiB int
	// SandboxCPUTime is the CPU time one sandboxed process may use (default 5m).
	SandboxCPUTime time.Duration
	// BuildCacheSeed is where the seed of new projects' build caches is kept
	// (default DataDir/caches/seed); tests share one across servers.
	BuildCacheSeed string
	// MaxStreamsPerToken caps the streams (watches) one token holds open at
	// once (default 100); MaxStreamsPerConn the concurrent calls of one
	// connection (default 256).
	MaxStreamsPerToken, MaxStreamsPerConn int
	// WatchSlowReader is how long a watch stream whose reader takes no
	// message (its 16-message buffer full) is kept before it is closed with
	// ResourceExhausted (default 30s).
	WatchSlowReader time.Duration
	// NodeLease is how long an executing node stays alive without renewing
	// its lease (default 30s): when it passes, other nodes take its running
	// executions over, and the node itself stops recording work a heartbeat
	// (a sixth of the lease) before that.
	NodeLease time.Duration
	// OnLeaseLost runs when another node has taken this node's work over
	// (default: log and exit with status 75, for the supervisor to restart).
	OnLeaseLost func(reason string)
	// GitConfig is an operator-written git configuration file read by every
	// git command of moosed in place of the global one (url.insteadOf to a
	// mirror, http.proxy); moosed's safety settings still win over it.
	GitConfig string
	// TLSCert and TLSKey (PEM files) turn on TLS for both listeners.
	TLSCert, TLSKey string
	// TLSClientCA (a PEM file) makes both listeners require a client
	// certificate signed by one of its CAs, in addition to a bearer token.
	TLSClientCA string
	// RepoRoots are the directories under which a project's repo_url may be a
	// local path or file:// URL (default none: only remote URLs). The path
	// must also be readable by the unprivileged user "nobody", so moosed's
	// privileges never read for a caller what the caller could not.
	RepoRoots []string
	// BuiltinBaseURLs are the endpoints each built-in model plugin may send
	// its API key to, by plugin name ("openai": {"https://api.openai.com/v1"}).
	// Nil: each provider's official API only. A variant pointing elsewhere
	// gets no key.
	BuiltinBaseURLs map[string][]string
	// CORSOrigins are the browser origins ("https://ui.example.com", or "*")
	// allowed to call the REST API cross-origin. Default none: a request
	// whose Origin names another host is refused.
	CORSOrigins []string
	// AdminTokenFile is where the first admin token is written (mode 0600) when
	// the database holds no token yet (default: admin.token in DataDir).
	// moosectl and the Go client read it from there when given no token.
	AdminTokenFile string
	// MaxDBConns caps the pgx pool (default 32).
	MaxDBConns int32
	// ShutdownTimeout bounds graceful shutdown of the listeners (default 10s).
	ShutdownTimeout time.Duration
	// DrainTimeout is how long running executions may finish after a
	// shutdown signal before they are cancelled and re-queued (default 60s).
	DrainTimeout time.Duration
	// Logger receives structured logs (default: text to stderr).
	Logger *slog.Logger
}

// Env names the environment variable for each flag of moosed.
var Env = map[string]string{
	"grpc-addr":         "MOOSE_GRPC_ADDR",
	"http-addr":         "MOOSE_HTTP_ADDR",
	"data-dir":          "MOOSE_DATA_DIR",
	"database-url":      "MOOSE_DATABASE_URL",
	"plugin-dir":        "MOOSE_PLUGIN_DIR",
	"concurrency":       "MOOSE_CONCURRENCY",
	"max-refinements":   "MOOSE_MAX_REFINEMENTS",
	"publish-remote":    "MOOSE_PUBLISH_REMOTE",
	"github-base-url":   "MOOSE_GITHUB_BASE_URL",
	"github-hosts":      "MOOSE_GITHUB_HOSTS",
	"log-level":         "MOOSE_LOG_LEVEL",
	"log-format":        "MOOSE_LOG_FORMAT",
	"api-only":          "MOOSE_API_ONLY",
	"unsandboxed":       "MOOSE_ALLOW_UNSANDBOXED",
	"workspace-pool":    "MOOSE_WORKSPACE_POOL",
	"context-budget":    "MOOSE_CONTEXT_BUDGET",
	"workspace-max":     "MOOSE_WORKSPACE_MAX",
	"sandbox-write-mib": "MOOSE_SANDBOX_WRITE_MIB",
	"sandbox-tmp-mib":   "MOOSE_SANDBOX_TMP_MIB",
	"sandbox-cpu":       "MOOSE_SANDBOX_CPU",
	"build-cache-seed":  "MOOSE_BUILD_CACHE_SEED",
	"drain-timeout":     "MOOSE_DRAIN_TIMEOUT",
	"git-config":        "MOOSE_GIT_CONFIG",
	"node-lease":        "MOOSE_NODE_LEASE",
	"max-streams":       "MOOSE_MAX_STREAMS",
	"max-mutants":       "MOOSE_MAX_MUTANTS",
	"mutation-time":     "MOOSE_MUTATION_TIME",
	"build-timeout":     "MOOSE_BUILD_TIMEOUT",
	"test-timeout":      "MOOSE_TEST_TIMEOUT",
	"propose-timeout":   "MOOSE_PROPOSE_TIMEOUT",
	"execution-timeout": "MOOSE_EXECUTION_TIMEOUT",
	"warm-projects":     "MOOSE_WARM_PROJECTS",
	"max-attempts":      "MOOSE_MAX_ATTEMPTS",
	"admin-token-file":  "MOOSE_ADMIN_TOKEN_FILE",
	"cors-origins":      "MOOSE_CORS_ORIGINS",
	"tls-cert":          "MOOSE_TLS_CERT",
	"tls-key":           "MOOSE_TLS_KEY",
	"tls-client-ca":     "MOOSE_TLS_CLIENT_CA",
	"repo-roots":        "MOOSE_REPO_ROOTS",
	"builtin-base-urls": "MOOSE_BUILTIN_BASE_URLS",
}

// AdminTokenFileName is the bootstrap admin token's file in the data dir.
const AdminTokenFileName = "admin.token"

// DefaultDataDir is the per-user data directory. As root it is /var/lib/moose,
// because PostgreSQL runs as an unprivileged user who cannot enter /root.
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/moose"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "moose")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "moose")
	}
	return filepath.Join(os.TempDir(), "moose")
}

func (c *Config) setDefaults() {
	if c.GRPCAddr == "" {
		c.GRPCAddr = "127.0.0.1:7400"
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:7401"
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if c.PluginDir == "" {
		if exe, err := os.Executable(); err == nil {
			c.PluginDir = filepath.Dir(exe)
		}
	}
	if c.AdminTokenFile == "" {
		c.AdminTokenFile = filepath.Join(c.DataDir, AdminTokenFileName)
	}
	if c.MaxDBConns == 0 {
		c.MaxDBConns = 32
	}
	if c.Concurrency == 0 {
		c.Concurrency = 15
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 60 * time.Second
	}
	if c.MaxStreamsPerToken == 0 {
		c.MaxStreamsPerToken = 100
	}
	if c.MaxStreamsPerConn == 0 {
		c.MaxStreamsPerConn = 256
	}
	if c.NodeLease == 0 {
		c.NodeLease = 30 * time.Second
	}
	if c.BuildTimeout == 0 {
		c.BuildTimeout = 5 * time.Minute
	}
	if c.TestTimeout == 0 {
		c.TestTimeout = 5 * time.Minute
	}
	if c.ProposeTimeout == 0 {
		c.ProposeTimeout = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
}

// Validate reports every problem of the configuration, defaults applied.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	for name, addr := range map[string]string{"grpc-addr": c.GRPCAddr, "http-addr": c.HTTPAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port", name, addr))
		}
	}
	if c.GRPCAddr == c.HTTPAddr && !strings.HasSuffix(c.GRPCAddr, ":0") {
		errs = append(errs, fmt.Errorf("grpc-addr and http-addr must differ (both %q)", c.GRPCAddr))
	}
	if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data-dir: %q must be an absolute path", c.DataDir))
	}
	if c.Concurrency < 0 || c.Concurrency > 1000 {
		errs = append(errs, fmt.Errorf("concurrency must be between 1 and 1000, got %d", c.Concurrency))
	}
	if c.MaxMutants < -1 || c.MutationTime < 0 {
		errs = append(errs, fmt.Errorf("max-mutants must be -1 (none) or more and mutation-time not negative, got %d and %s", c.MaxMutants, c.MutationTime))
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > 25 {
		errs = append(errs, fmt.Errorf("max-attempts must be between 1 and 25 (0: the default, 5), got %d", c.MaxAttempts))
	}
	if c.MaxRefinements < -1 || c.MaxRefinements > 10 {
		errs = append(errs, fmt.Errorf("max-refinements must be between -1 (none) and 10, got %d", c.MaxRefinements))
	}
	if c.ContextBudget < 0 {
		errs = append(errs, fmt.Errorf("context-budget must not be negative"))
	}
	if c.SandboxWriteMiB < 0 || c.SandboxTmpMiB < 0 || c.SandboxCPUTime < 0 {
		errs = append(errs, fmt.Errorf("sandbox-write-mib, sandbox-tmp-mib and sandbox-cpu must not be negative"))
	}
	if c.WorkspacePoolSize < 0 || c.WorkspaceMaxPerProject < 0 {
		errs = append(errs, fmt.Errorf("workspace-pool and workspace-max must not be negative"))
	}
	if c.NodeLease < time.Second || c.NodeLease > time.Hour {
		errs = append(errs, fmt.Errorf("node-lease must be between 1s and 1h, got %s", c.NodeLease))
	}
	for name, d := range map[string]time.Duration{"build-timeout": c.BuildTimeout, "test-timeout": c.TestTimeout, "propose-timeout": c.ProposeTimeout} {
		if d < time.Second || d > time.Hour {
			errs = append(errs, fmt.Errorf("%s must be between 1s and 1h, got %s", name, d))
		}
	}
	if c.ExecutionTimeout < 0 || (c.ExecutionTimeout > 0 && c.ExecutionTimeout < time.Second) {
		errs = append(errs, fmt.Errorf("execution-timeout must be 0 (follow the limits) or at least 1s, got %s", c.ExecutionTimeout))
	}
	if c.GitConfig != "" && !filepath.IsAbs(c.GitConfig) {
		errs = append(errs, fmt.Errorf("git-config: %q must be an absolute path", c.GitConfig))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key must be given together"))
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		errs = append(errs, errors.New("tls-client-ca needs tls-cert and tls-key"))
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("cors-origins: %q is not an origin (scheme://host[:port])", o))
		}
	}
	if c.MaxDBConns < 4 {
		errs = append(errs, fmt.Errorf("max db connections must be at least 4, got %d", c.MaxDBConns))
	}
	// A plugin directory another user can write would let them swap the
	// binaries moosed launches: refuse to start, naming the fix.
	if err := pluginhost.CheckDir(c.PluginDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// DefaultBuiltinBaseURLs are the official endpoints of the built-in model
// plugins, where their keys may go unless Config.BuiltinBaseURLs says otherwise.
func DefaultBuiltinBaseURLs() map[string][]string { return pluginhost.DefaultBuiltinBaseURLs() }
