package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/moosehq/moose/plugins/depinstall"
	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/buildcache"
	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/internal/metrics"
	"github.com/moosehq/moose/server/internal/node"
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
		ProposeTimeout:        cfg.ProposeTimeout,
		BuiltinBaseURLs:       cfg.BuiltinBaseURLs,
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
	seed := cfg.BuildCacheSeed
	if seed == "" {
		seed = filepath.Join(cfg.DataDir, "caches", "seed")
	}
	s.metrics = metrics.New(metricsSource{s}, s.log)
	validators := validatorAdapter{host: s.plugins, metrics: s.metrics}
	caches, err := buildcache.New(buildcache.Config{
		Root:    filepath.Join(cfg.DataDir, "caches"),
		SeedDir: seed,
		Seed:    seedBuildCache(validators),
		Logger:  s.log.With("component", "buildcache"),
	})
	if err != nil {
		return err
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
	// An executing node joins the cluster: its lease fences what it records
	// and lets the others take its work over if it dies.
	id := clientID(cfg.DataDir)
	if !cfg.APIOnly {
		if s.node, err = node.Join(ctx, s.pool, node.Config{ID: id, Lease: cfg.NodeLease, Logger: s.log.With("component", "node")}); err != nil {
			return err
		}
		hctx, hcancel := context.WithCancel(context.Background())
		s.nodeStop, s.nodeDone = hcancel, make(chan struct{})
		go func() { defer close(s.nodeDone); s.node.Run(hctx) }()
	}
	s.engine, err = pipeline.New(pipeline.Deps{
		Pool:        s.pool,
		WorkOrders:  s.workorders,
		Router:      s.router,
		Workspaces:  s.workspaces,
		Caches:      caches,
		Proposer:    proposerAdapter{host: s.plugins, variants: s.variants, metrics: s.metrics},
		Validator:   validators,
		Publisher:   publisher,
		Experiments: experimentsAdapter{s: s.experiments, variants: s.variants, metrics: s.metrics},
		Node:        s.node,
		Baselines:   acceptance.NewStore(s.pool),
		Logger:      s.log.With("component", "pipeline"),
	}, pipeline.Config{
		Concurrency:    cfg.Concurrency,
		MaxRefinements: cfg.MaxRefinements,
		MaxAttempts:    cfg.MaxAttempts,
		Validators:     cfg.Validators,
		ContextBudget:  cfg.ContextBudget,
		BuildTimeout:   cfg.BuildTimeout,
		TestTimeout:    cfg.TestTimeout,
		ProposeTimeout: cfg.ProposeTimeout,
		JobTimeout:     cfg.ExecutionTimeout,
		Mutation:       pipeline.MutationBudget{Disabled: cfg.MaxMutants < 0, MaxMutants: max(cfg.MaxMutants, 0), Time: cfg.MutationTime},
		ClientID:       id,
		Limits: pipeline.Limits{WriteBytes: int64(cfg.SandboxWriteMiB) << 20, TmpBytes: int64(cfg.SandboxTmpMiB) << 20,
			CPUTime: cfg.SandboxCPUTime},
		InsertOnly:   cfg.APIOnly,
		WarmProjects: cfg.WarmProjects,
	})
	if err != nil {
		return err
	}
	s.workorders.SetScheduler(s.engine)
	return nil
}

// seedBuildCache warms a build-cache seed by building and testing moosed's
// own seed module through the real validators, so the seed's entries are
// exactly what a sandboxed validation would have produced.
func seedBuildCache(v validatorAdapter) buildcache.Seeder {
	return func(ctx context.Context, module, dir string) error {
		req := pipeline.ValidateRequest{Dir: module, Project: pipeline.ProjectInfo{Language: "go"}, CacheDir: dir, Timeout: 10 * time.Minute}
		for _, name := range []string{"build", "test"} {
			rep, err := v.Validate(ctx, name, req)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if !rep.Passed {
				return fmt.Errorf("%s of the seed module failed: %s %s", name, rep.Error, trimForLog(rep.Log))
			}
		}
		return nil
	}
}

func trimForLog(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// clientID is stable for one node (host + data directory), so a restarted
// moosed recognises the jobs it was running when it died.
func clientID(dataDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + dataDir))
	return "moosed-" + hex.EncodeToString(sum[:6])
}

// installDeps fetches a project's dependencies once per base commit, with the
// network and without secrets, before any generated code runs; install
// scripts stay off. Builds and tests later run in the sandbox without network.
func installDeps(ctx context.Context, dir string) error {
	lang := depinstall.Detect(dir)
	if lang == "" {
		return nil
	}
	return depinstall.Install(ctx, dir, lang)
}

// experimentsAdapter lets the pipeline consult and inform A/B experiments.
type experimentsAdapter struct {
	s        *experiment.Service
	variants *variant.Service
	metrics  *metrics.Metrics
}

func (a experimentsAdapter) Assign(ctx context.Context, wo uuid.UUID, tier string, v uuid.UUID) (pipeline.Assignment, bool, error) {
	as, ok, err := a.s.Assign(ctx, wo, tier, v)
	return pipeline.Assignment(as), ok, err
}

func (a experimentsAdapter) Observe(ctx context.Context, wo uuid.UUID, o pipeline.Outcome) error {
	if !o.Shadow {
		name := o.VariantID.String()
		if v, err := a.variants.Get(ctx, name); err == nil {
			name = v.Name
		}
		outcome := "rejected"
		switch {
		case o.Crashed:
			outcome = "crashed"
		case o.Passed:
			outcome = "accepted"
		}
		a.metrics.Finished(name, outcome, o.CostUSD)
	}
	return a.s.Observe(ctx, wo, experiment.ExecutionResult(o))
}

// metricsSource reads the cluster's state for /metrics from the owners of
// the tables.
type metricsSource struct{ s *Server }

func (m metricsSource) WorkOrdersByStatus(ctx context.Context) (map[string]int64, error) {
	return m.s.workorders.CountByStatus(ctx)
}

func (m metricsSource) Jobs(ctx context.Context) ([]metrics.JobStat, error) {
	stats, err := m.s.engine.JobStats(ctx)
	out := make([]metrics.JobStat, len(stats))
	for i, j := range stats {
		out[i] = metrics.JobStat(j)
	}
	return out, err
}

func (m metricsSource) LiveNodes(ctx context.Context) (int, error) { return node.Live(ctx, m.s.pool) }
