package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Strategy says how workspaces are materialised from a base commit's template.
type Strategy string

const (
	// StrategyAuto uses overlay when a probe mount succeeds, copy otherwise.
	StrategyAuto Strategy = ""
	// StrategyOverlay mounts an overlayfs over the template (Linux, root).
	StrategyOverlay Strategy = "overlay"
	// StrategyCopy copies the template with cp -a --reflink=auto.
	StrategyCopy Strategy = "copy"
)

// Config configures a Manager. The zero value of every field but Root has a default.
type Config struct {
	// Root is where mirrors, templates and workspaces live. Required; one Manager per Root.
	Root string
	// PoolSize is how many idle workspaces per project are kept after release (default 4).
	// Warm may create more; they are trimmed back as they are released.
	PoolSize int
	// MaxPerProject bounds the workspaces of one project checked out at once;
	// Acquire blocks beyond it (default 16).
	MaxPerProject int
	// Strategy picks overlay or copy; StrategyAuto probes.
	Strategy Strategy
	// InstallDeps, if set, runs once per base commit in the template directory,
	// before any workspace is made from it (e.g. npm ci --ignore-scripts).
	InstallDeps func(ctx context.Context, dir string) error
	// KeepDirs are directory names kept across resets at any depth (default node_modules).
	// They are also added to the repository's info/exclude so git never walks them.
	KeepDirs []string
	// DepManifests are file base names whose change invalidates KeepDirs
	// (default package.json, package-lock.json, npm-shrinkwrap.json, yarn.lock,
	// pnpm-lock.yaml, go.mod, go.sum).
	DepManifests []string
	// Logger receives pool events; defaults to a discarding logger.
	Logger *slog.Logger
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Root == "" {
		errs = append(errs, errors.New("root: required"))
	}
	if c.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("pool size: %d is negative", c.PoolSize))
	}
	if c.MaxPerProject < 0 {
		errs = append(errs, fmt.Errorf("max per project: %d is negative", c.MaxPerProject))
	}
	switch c.Strategy {
	case StrategyAuto, StrategyOverlay, StrategyCopy:
	default:
		errs = append(errs, fmt.Errorf("strategy: unknown %q", c.Strategy))
	}
	for _, d := range c.KeepDirs {
		if d == "" || strings.ContainsAny(d, "/\\") || d == "." || d == ".." || d == ".git" {
			errs = append(errs, fmt.Errorf("keep dirs: %q is not a plain directory name", d))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid workspace config: %w", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PoolSize == 0 {
		c.PoolSize = 4
	}
	if c.MaxPerProject == 0 {
		c.MaxPerProject = 16
	}
	if c.KeepDirs == nil {
		c.KeepDirs = []string{"node_modules"}
	}
	if c.DepManifests == nil {
		c.DepManifests = []string{
			"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
			"pnpm-lock.yaml", "go.mod", "go.sum",
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
