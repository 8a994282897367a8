package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/internal/pipeline"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/publish"
	"github.com/moosehq/moose/server/internal/routing"
	"github.com/moosehq/moose/server/internal/variant"
	"github.com/moosehq/moose/server/internal/workspace"
)

// startExecution wires the plugin host, variants, routing, workspaces and the
// pipeline engine, and hooks the engine into the work-order lifecycle.
func (s *Server) startExecution(ctx context.Context) error {
	cfg := s.cfg
	var err error
	s.plugins, err = pluginhost.New(pluginhost.Config{
		Dir:                   cfg.PluginDir,
		DataDir:               cfg.DataDir,
		Store:                 pluginhost.NewPGStore(s.pool),
		ValidatorsUnsandboxed: cfg.Unsandboxed,
		Logger:                s.log.With("component", "plugins"),
	})
	if err != nil {
		return err
	}
	if err := s.plugins.Start(ctx); err != nil {
		return fmt.Errorf("start plugin host: %w", err)
	}
	builtins, err := s.plugins.RegisterBuiltins(ctx, cfg.PluginDir)
	if err != nil {
		s.log.Warn("some built-in plugins failed to register", "err", err)
	}
	s.log.Info("built-in plugins registered", "count", len(builtins), "dir", cfg.PluginDir)
	s.variants = variant.NewService(s.pool, s.plugins)
	s.router = routing.New(s.pool)
	s.workspaces, err = workspace.NewManager(workspace.Config{
		Root:          filepath.Join(cfg.DataDir, "workspaces"),
		PoolSize:      cfg.WorkspacePoolSize,
		MaxPerProject: cfg.WorkspaceMaxPerProject,
		InstallDeps:   installDeps,
		Logger:        s.log.With("component", "workspaces"),
	})
	if err != nil {
		return fmt.Errorf("workspaces: %w", err)
	}
	s.experiments = experiment.NewService(s.pool, s.log.With("component", "experiments"))
	s.publisher, err = publish.NewRouter(publish.Config{
		GitHub:      publish.GitHubConfig{Token: publish.Secret(cfg.GitHubToken), BaseURL: cfg.GitHubBaseURL},
		GitHubHosts: cfg.GitHubHosts,
		Remote:      cfg.PublishRemote,
	}, s.log.With("component", "publish"))
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	var publisher pipeline.Publisher
	if !cfg.DisablePublish {
		publisher = s.publisher
	}
	s.engine, err = pipeline.New(pipeline.Deps{
		Pool:        s.pool,
		WorkOrders:  s.workorders,
		Router:      s.router,
		Workspaces:  s.workspaces,
		Proposer:    proposerAdapter{host: s.plugins, variants: s.variants},
		Validator:   validatorAdapter{host: s.plugins},
		Publisher:   publisher,
		Experiments: experimentsAdapter{s.experiments},
		Logger:      s.log.With("component", "pipeline"),
	}, pipeline.Config{
		Concurrency:    cfg.Concurrency,
		MaxRefinements: cfg.MaxRefinements,
		Validators:     cfg.Validators,
		ContextBudget:  cfg.ContextBudget,
		ClientID:       clientID(cfg.DataDir),
		InsertOnly:     cfg.APIOnly,
	})
	if err != nil {
		return err
	}
	s.workorders.SetScheduler(s.engine)
	return nil
}

// clientID is stable for one node (host + data directory), so a restarted
// moosed recognises the jobs it was running when it died.
func clientID(dataDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + dataDir))
	return "moosed-" + hex.EncodeToString(sum[:6])
}

// installDeps fetches a project's dependencies once per base commit, with the
// network, before any generated code runs; install scripts stay off. Builds
// and tests later run in the sandbox with no network at all.
func installDeps(ctx context.Context, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var args []string
	switch {
	case exists(filepath.Join(dir, "package-lock.json")):
		args = []string{"npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"}
	case exists(filepath.Join(dir, "package.json")):
		args = []string{"npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"}
	case exists(filepath.Join(dir, "go.mod")):
		args = []string{"go", "mod", "download"}
	default:
		return nil
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(installEnv(), "GOTOOLCHAIN=local", "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %w: %s", args, err, tail(out, 2000))
	}
	return nil
}

// installPassthrough is all of moosed's environment a dependency install
// sees: what package managers need to find their caches, registries and
// proxies. API keys and tokens never reach it.
var installPassthrough = []string{
	"PATH", "HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GONOSUMDB", "GOSUMDB",
	"GOFLAGS", "GOINSECURE", "npm_config_registry", "npm_config_cache", "NPM_CONFIG_REGISTRY", "NPM_CONFIG_CACHE",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR",
}

func installEnv() []string {
	var env []string
	for _, k := range installPassthrough {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// experimentsAdapter lets the pipeline consult and inform A/B experiments.
type experimentsAdapter struct{ s *experiment.Service }

func (a experimentsAdapter) Assign(ctx context.Context, wo uuid.UUID, tier string, v uuid.UUID) (pipeline.Assignment, bool, error) {
	as, ok, err := a.s.Assign(ctx, wo, tier, v)
	return pipeline.Assignment(as), ok, err
}

func (a experimentsAdapter) Observe(ctx context.Context, wo uuid.UUID, o pipeline.Outcome) error {
	return a.s.Observe(ctx, wo, experiment.ExecutionResult(o))
}
