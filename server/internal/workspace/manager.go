package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
)

var (
	// ErrClosed is returned by Acquire and Warm after Close.
	ErrClosed = errors.New("workspace manager closed")
	// ErrCommitNotFound means the base commit is not in the repository even after a fetch.
	ErrCommitNotFound = errors.New("base commit not found")
	// ErrRootInUse means another Manager holds Config.Root.
	ErrRootInUse = errors.New("workspace root in use by another manager")
	// ErrInvalidProject means a Project lacks an ID or a RepoURL.
	ErrInvalidProject = errors.New("invalid project")
)

// Project names a repository whose workspaces the Manager pools.
type Project struct {
	// ID identifies the project; it keys the pool and names its directory.
	ID string
	// RepoURL is a local path or any URL git can clone.
	RepoURL string
	// Branch is the branch whose tip an empty base commit means; empty means the remote HEAD.
	Branch string
}

// Manager owns the pools of all projects under one Root.
type Manager struct {
	cfg      Config
	log      *slog.Logger
	root     string
	strategy Strategy
	unlock   func()

	closed atomic.Bool
	bg     sync.WaitGroup // background resets

	mu    sync.Mutex
	pools map[string]*pool
}

// NewManager prepares Root, detaches mounts a crashed predecessor left behind
// and picks the strategy (probing overlayfs when Strategy is auto).
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("workspace root: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create workspace root: %w", err)
	}
	unlock, err := lockRoot(root)
	if err != nil {
		return nil, err
	}
	if err := unmountStale(root); err != nil {
		unlock()
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, root: root, unlock: unlock, pools: map[string]*pool{}}
	m.strategy = cfg.Strategy
	if m.strategy != StrategyCopy {
		if err := probeOverlay(root); err != nil {
			if m.strategy == StrategyOverlay {
				unlock()
				return nil, fmt.Errorf("overlay strategy requested: %w", err)
			}
			m.log.Info("overlayfs unavailable, copying workspaces", "err", err)
			m.strategy = StrategyCopy
		} else {
			m.strategy = StrategyOverlay
		}
	}
	m.log.Info("workspace manager ready", "root", root, "strategy", string(m.strategy))
	return m, nil
}

// Strategy reports the strategy in use after probing.
func (m *Manager) Strategy() Strategy { return m.strategy }

func probeOverlay(root string) error {
	dir, err := os.MkdirTemp(root, ".probe-")
	if err != nil {
		return fmt.Errorf("probe overlay: %w", err)
	}
	defer os.RemoveAll(dir)
	sub := func(n string) string { return filepath.Join(dir, n) }
	for _, n := range []string{"l", "u", "w", "m"} {
		if err := os.Mkdir(sub(n), 0o755); err != nil {
			return fmt.Errorf("probe overlay: %w", err)
		}
	}
	if err := mountOverlay(sub("l"), sub("u"), sub("w"), sub("m")); err != nil {
		return err
	}
	return unmountOverlay(sub("m"))
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// projectKey names a project's directory: the ID when it is a safe file name,
// a hash of it otherwise, so an ID can never escape Root.
func projectKey(id string) string {
	if safeID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "p-" + hex.EncodeToString(sum[:12])
}

func (m *Manager) pool(p Project) (*pool, error) {
	if p.ID == "" || p.RepoURL == "" {
		return nil, fmt.Errorf("project %q: id and repo url are required: %w", p.ID, ErrInvalidProject)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if pl, ok := m.pools[p.ID]; ok {
		if pl.proj.RepoURL != p.RepoURL {
			return nil, fmt.Errorf("project %q: repo url changed from %q to %q: %w", p.ID, pl.proj.RepoURL, p.RepoURL, ErrInvalidProject)
		}
		return pl, nil
	}
	pl, err := newPool(m, p)
	if err != nil {
		return nil, err
	}
	m.pools[p.ID] = pl
	return pl, nil
}

// Acquire checks out a workspace of p that is pristine at baseCommit (a commit
// id or any revision git understands; empty means the tip of p.Branch after a
// fetch). It blocks while MaxPerProject workspaces of p are checked out, and
// returns ctx's error if ctx ends first. The caller must Release or Discard it.
func (m *Manager) Acquire(ctx context.Context, p Project, baseCommit string) (*Workspace, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	pl, err := m.pool(p)
	if err != nil {
		return nil, err
	}
	commit, err := pl.resolve(ctx, baseCommit)
	if err != nil {
		return nil, err
	}
	select {
	case pl.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("acquire workspace of %s: %w", p.ID, ctx.Err())
	}
	st, err := pl.take(ctx, commit)
	if err != nil {
		<-pl.slots
		return nil, fmt.Errorf("acquire workspace of %s: %w", p.ID, err)
	}
	return &Workspace{pool: pl, st: st, dir: st.tree, base: commit}, nil
}

// Warm makes sure at least n idle workspaces of p are ready at the tip of
// p.Branch, creating the missing ones concurrently. Warm workspaces beyond
// PoolSize are trimmed as they are released.
func (m *Manager) Warm(ctx context.Context, p Project, n int) error {
	if m.closed.Load() {
		return ErrClosed
	}
	pl, err := m.pool(p)
	if err != nil {
		return err
	}
	commit, err := pl.resolve(ctx, "")
	if err != nil {
		return err
	}
	return pl.warm(ctx, commit, n)
}

// Close waits for background resets, removes idle workspaces and refuses new
// acquisitions. Workspaces still checked out are removed when released.
// Mirrors and templates stay on disk for the next Manager.
func (m *Manager) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.bg.Wait()
	m.mu.Lock()
	pools := make([]*pool, 0, len(m.pools))
	for _, pl := range m.pools {
		pools = append(pools, pl)
	}
	m.mu.Unlock()
	var errs []error
	for _, pl := range pools {
		errs = append(errs, pl.closeIdle())
	}
	m.unlock()
	return errors.Join(errs...)
}
