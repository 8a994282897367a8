package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// resetTimeout bounds a background reset, which has no caller context.
const resetTimeout = 2 * time.Minute

// pool holds one project's mirror, templates and workspaces.
type pool struct {
	m      *Manager
	proj   Project
	dir    string
	mirror string
	slots  chan struct{} // one token per checked-out workspace

	mirrorMu sync.Mutex // serialises clone and fetch of the mirror
	mirrorOK bool

	mu        sync.Mutex
	idle      []*wsState
	resetting int
	changed   chan struct{} // closed and replaced when idle grows or a reset ends
	templates map[string]*template
	nextID    int
}

// template is a pristine checkout of one base commit with dependencies installed.
type template struct {
	commit string
	dir    string
	ready  chan struct{}
	err    error
	refs   int // workspaces (and creators in flight) that depend on dir
}

// wsState is a workspace's on-disk state; exactly one holder owns it at a time.
type wsState struct {
	root string    // ws/<id>
	tree string    // the working tree, Workspace.Dir
	tmpl *template // lower layer in overlay mode, nil in copy mode
	base string    // commit the tree is pristine at once reset
}

func newPool(m *Manager, p Project) (*pool, error) {
	dir := filepath.Join(m.root, projectKey(p.ID))
	pl := &pool{
		m: m, proj: p, dir: dir, mirror: filepath.Join(dir, "mirror.git"),
		slots:     make(chan struct{}, m.cfg.MaxPerProject),
		changed:   make(chan struct{}),
		templates: map[string]*template{},
	}
	// Workspaces from a previous process are unknown state: drop them. Ready
	// templates are kept; half-built ones are not.
	if err := os.RemoveAll(filepath.Join(dir, "ws")); err != nil {
		return nil, fmt.Errorf("clear stale workspaces of %s: %w", p.ID, err)
	}
	for _, sub := range []string{"ws", "base"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create pool of %s: %w", p.ID, err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "base"))
	if err != nil {
		return nil, fmt.Errorf("read templates of %s: %w", p.ID, err)
	}
	for _, e := range entries {
		full := filepath.Join(dir, "base", e.Name())
		if e.IsDir() {
			if _, err := os.Stat(full + ".ready"); err != nil {
				_ = os.RemoveAll(full)
			}
		}
	}
	return pl, nil
}

func (pl *pool) notifyLocked() {
	close(pl.changed)
	pl.changed = make(chan struct{})
}

// ensureMirror makes the bare clone once. The refspec maps branches and tags
// one to one (not --mirror, which would also drag in every pull-request ref).
func (pl *pool) ensureMirror(ctx context.Context) error {
	pl.mirrorMu.Lock()
	defer pl.mirrorMu.Unlock()
	if pl.mirrorOK {
		return nil
	}
	if _, err := os.Stat(filepath.Join(pl.mirror, "HEAD")); err == nil {
		pl.mirrorOK = true
		return nil
	}
	tmp := pl.mirror + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clone mirror of %s: %w", pl.proj.ID, err)
	}
	steps := [][]string{
		{"clone", "--bare", "-q", "--", pl.proj.RepoURL, tmp},
		{"-C", tmp, "config", "remote.origin.fetch", "+refs/heads/*:refs/heads/*"},
		{"-C", tmp, "config", "--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*"},
		// Workspaces borrow the mirror's objects: never let gc prune one.
		{"-C", tmp, "config", "gc.auto", "0"},
	}
	for _, args := range steps {
		if _, err := git(ctx, pl.dir, nil, args...); err != nil {
			_ = os.RemoveAll(tmp)
			return fmt.Errorf("clone mirror of %s: %w", pl.proj.ID, err)
		}
	}
	if err := os.Rename(tmp, pl.mirror); err != nil {
		return fmt.Errorf("clone mirror of %s: %w", pl.proj.ID, err)
	}
	pl.mirrorOK = true
	return nil
}

func (pl *pool) fetch(ctx context.Context, extra ...string) error {
	pl.mirrorMu.Lock()
	defer pl.mirrorMu.Unlock()
	args := append([]string{"fetch", "-q", "--prune", "origin"}, extra...)
	if _, err := git(ctx, pl.mirror, nil, args...); err != nil {
		return fmt.Errorf("fetch %s: %w", pl.proj.ID, err)
	}
	return nil
}

func (pl *pool) revParse(ctx context.Context, rev string) (string, error) {
	out, err := git(ctx, pl.mirror, nil, "rev-parse", "--verify", "-q", rev+"^{commit}")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// resolve turns a revision into a full commit id, fetching when the mirror
// lacks it (and always for an empty revision, which means the branch tip now).
func (pl *pool) resolve(ctx context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("base commit %q: %w", rev, ErrCommitNotFound)
	}
	if err := pl.ensureMirror(ctx); err != nil {
		return "", err
	}
	if rev == "" {
		if err := pl.fetch(ctx); err != nil {
			return "", err
		}
		ref := "HEAD"
		if pl.proj.Branch != "" {
			ref = "refs/heads/" + pl.proj.Branch
		}
		c, err := pl.revParse(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("tip of %s in %s: %w", ref, pl.proj.ID, ErrCommitNotFound)
		}
		return c, nil
	}
	if c, err := pl.revParse(ctx, rev); err == nil {
		return c, nil
	}
	if err := pl.fetch(ctx); err != nil {
		return "", err
	}
	if c, err := pl.revParse(ctx, rev); err == nil {
		return c, nil
	}
	// A commit on no branch (a pull request head): hosts such as GitHub serve
	// any reachable commit by id. Failure here just means it does not exist.
	if isHex(rev) && len(rev) == 40 {
		if err := pl.fetch(ctx, rev); err == nil {
			if c, err := pl.revParse(ctx, rev); err == nil {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("base commit %q of %s: %w", rev, pl.proj.ID, ErrCommitNotFound)
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return s != ""
}

// template returns the ready template of commit, building it once (concurrent
// callers wait for the same build). It holds a reference for the caller, who
// must drop it with unref.
func (pl *pool) template(ctx context.Context, commit string) (*template, error) {
	pl.mu.Lock()
	t, ok := pl.templates[commit]
	if !ok {
		t = &template{commit: commit, dir: filepath.Join(pl.dir, "base", commit), ready: make(chan struct{})}
		pl.templates[commit] = t
	}
	t.refs++
	pl.mu.Unlock()
	if !ok {
		t.err = pl.buildTemplate(ctx, t)
		close(t.ready)
		pl.mu.Lock()
		if t.err != nil {
			delete(pl.templates, commit)
		}
		stale := pl.staleTemplatesLocked(commit)
		pl.mu.Unlock()
		for _, s := range stale {
			_ = os.Remove(s.dir + ".ready")
			_ = os.RemoveAll(s.dir)
		}
	}
	select {
	case <-t.ready:
	case <-ctx.Done():
		pl.unref(t)
		return nil, ctx.Err()
	}
	if t.err != nil {
		pl.unref(t)
		return nil, t.err
	}
	return t, nil
}

// staleTemplatesLocked drops templates no workspace depends on, except keep,
// so a long-running pool does not keep one checkout per commit it ever saw.
func (pl *pool) staleTemplatesLocked(keep string) []*template {
	var stale []*template
	for c, t := range pl.templates {
		if c == keep || t.refs > 0 {
			continue
		}
		select {
		case <-t.ready:
			delete(pl.templates, c)
			stale = append(stale, t)
		default: // still being built
		}
	}
	return stale
}

func (pl *pool) unref(t *template) {
	pl.mu.Lock()
	t.refs--
	pl.mu.Unlock()
}

func (pl *pool) buildTemplate(ctx context.Context, t *template) error {
	if _, err := os.Stat(t.dir + ".ready"); err == nil {
		return nil // built by an earlier process
	}
	start := time.Now()
	if err := os.RemoveAll(t.dir); err != nil {
		return fmt.Errorf("build template %s: %w", t.commit, err)
	}
	steps := [][]string{
		{"clone", "-q", "--shared", "--no-checkout", "--", pl.mirror, t.dir},
		{"-C", t.dir, "checkout", "-q", "--detach", t.commit},
		{"-C", t.dir, "remote", "set-url", "origin", pl.proj.RepoURL},
		// A copy (cp -a) keeps mtimes and sizes but not inodes or ctimes. Checking
		// only whole-second mtime and size keeps the copied index valid, so no
		// workspace re-hashes the tree; git's racy-entry check still catches an
		// edit made in the same second as the index was written.
		{"-C", t.dir, "config", "core.checkStat", "minimal"},
		{"-C", t.dir, "config", "core.trustctime", "false"},
	}
	for _, args := range steps {
		if _, err := git(ctx, pl.dir, nil, args...); err != nil {
			return fmt.Errorf("build template %s: %w", t.commit, err)
		}
	}
	if err := deleteBranches(ctx, t.dir); err != nil {
		return fmt.Errorf("build template %s: %w", t.commit, err)
	}
	if len(pl.m.cfg.KeepDirs) > 0 {
		// Excluding kept directories keeps git status, add -A and ls-files from
		// walking node_modules; `git clean -x` ignores this file, hence -e there too.
		var b strings.Builder
		for _, d := range pl.m.cfg.KeepDirs {
			b.WriteString(d + "/\n")
		}
		excl := filepath.Join(t.dir, ".git", "info", "exclude")
		if err := os.MkdirAll(filepath.Dir(excl), 0o755); err != nil {
			return fmt.Errorf("build template %s: %w", t.commit, err)
		}
		f, err := os.OpenFile(excl, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("build template %s: %w", t.commit, err)
		}
		_, err = f.WriteString(b.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("build template %s: %w", t.commit, err)
		}
	}
	if hook := pl.m.cfg.InstallDeps; hook != nil {
		if err := hook(ctx, t.dir); err != nil {
			return fmt.Errorf("install dependencies for %s at %s: %w", pl.proj.ID, t.commit, err)
		}
	}
	if err := settleIndex(ctx, t.dir, start); err != nil {
		return fmt.Errorf("build template %s: %w", t.commit, err)
	}
	if err := os.WriteFile(t.dir+".ready", []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("build template %s: %w", t.commit, err)
	}
	pl.m.log.Info("workspace template built", "project", pl.proj.ID, "commit", t.commit, "took", time.Since(start))
	return nil
}

// settleIndex rewrites the index once the clock has moved past the checkout.
// Files written in the same timestamp granule as the index are "racily clean"
// to git and get re-hashed on every status until the index is rewritten later;
// doing it here, once per base commit, keeps every workspace's reset cheap.
func settleIndex(ctx context.Context, dir string, checkout time.Time) error {
	if wait := time.Until(checkout.Truncate(time.Second).Add(time.Second + 10*time.Millisecond)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Touching the index's content forces a rewrite; refresh then re-stats every entry.
	if _, err := git(ctx, dir, nil, "update-index", "-q", "--really-refresh"); err != nil {
		return err
	}
	return nil
}

func deleteBranches(ctx context.Context, dir string) error {
	out, err := git(ctx, dir, nil, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
	if err != nil {
		return err
	}
	branches := strings.Fields(string(out))
	if len(branches) == 0 {
		return nil
	}
	_, err = git(ctx, dir, nil, append([]string{"branch", "-q", "-D", "--"}, branches...)...)
	return err
}

// create makes a new workspace pristine at commit.
func (pl *pool) create(ctx context.Context, commit string) (*wsState, error) {
	pl.mu.Lock()
	pl.nextID++
	id := pl.nextID
	pl.mu.Unlock()
	root := filepath.Join(pl.dir, "ws", strconv.Itoa(id))
	st := &wsState{root: root, tree: filepath.Join(root, "tree")}
	if err := pl.materialize(ctx, st, commit); err != nil {
		pl.destroy(st)
		return nil, err
	}
	return st, nil
}

// materialize fills st.root from commit's template.
func (pl *pool) materialize(ctx context.Context, st *wsState, commit string) error {
	t, err := pl.template(ctx, commit)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(st.root, 0o755); err != nil {
		pl.unref(t)
		return fmt.Errorf("create workspace: %w", err)
	}
	if pl.m.strategy == StrategyOverlay {
		upper, work := filepath.Join(st.root, "upper"), filepath.Join(st.root, "work")
		for _, d := range []string{upper, work, st.tree} {
			if err := os.Mkdir(d, 0o755); err != nil {
				pl.unref(t)
				return fmt.Errorf("create workspace: %w", err)
			}
		}
		if err := mountOverlay(t.dir, upper, work, st.tree); err != nil {
			pl.unref(t)
			return fmt.Errorf("create workspace: %w", err)
		}
		st.tmpl = t // keeps the reference until destroy
	} else {
		out, err := exec.CommandContext(ctx, "cp", append(copyArgs, t.dir, st.tree)...).CombinedOutput()
		pl.unref(t)
		if err != nil {
			return fmt.Errorf("copy template: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	st.base = commit
	return nil
}

// destroy unmounts and deletes a workspace. Errors are logged: there is no
// caller who could do better, and a leftover directory is cleared at next start.
func (pl *pool) destroy(st *wsState) {
	if err := pl.clear(st); err != nil {
		pl.m.log.Warn("remove workspace", "project", pl.proj.ID, "dir", st.root, "err", err)
	}
}

func (pl *pool) clear(st *wsState) error {
	var err error
	if st.tmpl != nil {
		err = unmountOverlay(st.tree)
		pl.unref(st.tmpl)
		st.tmpl = nil
	}
	return errors.Join(err, os.RemoveAll(st.root))
}

func lastIndex[T any](xs []T, f func(T) bool) int {
	for i := len(xs) - 1; i >= 0; i-- {
		if f(xs[i]) {
			return i
		}
	}
	return -1
}

// take returns an exclusive workspace pristine at commit: an idle one already
// there, else an idle one moved there, else one being reset (waiting for it),
// else a new one.
func (pl *pool) take(ctx context.Context, commit string) (*wsState, error) {
	for {
		pl.mu.Lock()
		// The one back last first: build caches key compiles by a
		// workspace's path, so the most recently used is the warmest.
		if i := lastIndex(pl.idle, func(s *wsState) bool { return s.base == commit }); i >= 0 {
			st := pl.idle[i]
			pl.idle = slices.Delete(pl.idle, i, i+1)
			pl.mu.Unlock()
			return st, nil
		}
		if n := len(pl.idle); n > 0 {
			st := pl.idle[n-1]
			pl.idle = pl.idle[:n-1]
			pl.mu.Unlock()
			if err := pl.reset(ctx, st, commit); err != nil {
				pl.m.log.Warn("move workspace to new base failed, making a new one", "project", pl.proj.ID, "err", err)
				pl.destroy(st)
				return pl.create(ctx, commit)
			}
			return st, nil
		}
		if pl.resetting > 0 {
			ch := pl.changed
			pl.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		pl.mu.Unlock()
		return pl.create(ctx, commit)
	}
}

// reset makes st pristine at target. An overlay is remounted on target's
// template with a fresh upper layer: the cost is the size of what the holder
// wrote, not the size of the tree, and the installed dependencies come back
// exactly as the template has them. A copy is reset in place with git,
// keeping KeepDirs, unless a dependency manifest differs from target, in
// which case it is copied afresh from the template.
func (pl *pool) reset(ctx context.Context, st *wsState, target string) error {
	if pl.m.strategy == StrategyOverlay {
		return pl.rebuild(ctx, st, target)
	}
	cfg := pl.m.cfg
	if cfg.InstallDeps != nil && len(cfg.KeepDirs) > 0 {
		changed, err := changedFiles(ctx, st.tree, target)
		if err != nil || slices.ContainsFunc(changed, func(p string) bool {
			return slices.Contains(cfg.DepManifests, path.Base(p))
		}) {
			return pl.rebuild(ctx, st, target)
		}
	}
	if _, err := git(ctx, st.tree, nil, "checkout", "-q", "-f", "--detach", target); err != nil {
		return fmt.Errorf("reset workspace: %w", err)
	}
	args := []string{"clean", "-ffdxq"}
	for _, d := range cfg.KeepDirs {
		args = append(args, "-e", d)
	}
	if _, err := git(ctx, st.tree, nil, args...); err != nil {
		return fmt.Errorf("reset workspace: %w", err)
	}
	if err := deleteBranches(ctx, st.tree); err != nil {
		return fmt.Errorf("reset workspace: %w", err)
	}
	st.base = target
	return nil
}

func (pl *pool) rebuild(ctx context.Context, st *wsState, target string) error {
	if err := pl.clear(st); err != nil {
		return fmt.Errorf("rebuild workspace: %w", err)
	}
	return pl.materialize(ctx, st, target)
}

// release resets st in the background and returns it to the idle list.
func (pl *pool) release(st *wsState) {
	<-pl.slots
	m := pl.m
	if m.closed.Load() {
		pl.destroy(st)
		return
	}
	pl.mu.Lock()
	pl.resetting++
	pl.mu.Unlock()
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), resetTimeout)
		err := pl.reset(ctx, st, st.base)
		cancel()
		pl.mu.Lock()
		pl.resetting--
		keep := err == nil && !m.closed.Load() && len(pl.idle) < m.cfg.PoolSize
		if keep {
			pl.idle = append(pl.idle, st)
		}
		pl.notifyLocked()
		pl.mu.Unlock()
		if !keep {
			if err != nil {
				m.log.Warn("reset workspace failed, removing it", "project", pl.proj.ID, "err", err)
			}
			pl.destroy(st)
		}
	}()
}

func (pl *pool) discard(st *wsState) {
	<-pl.slots
	pl.destroy(st)
}

// warm creates idle workspaces at commit until n are there.
func (pl *pool) warm(ctx context.Context, commit string, n int) error {
	pl.mu.Lock()
	need := n
	for _, s := range pl.idle {
		if s.base == commit {
			need--
		}
	}
	pl.mu.Unlock()
	if need <= 0 {
		return nil
	}
	sem := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	for range need {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, err := pl.create(ctx, commit)
			if err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
				return
			}
			pl.mu.Lock()
			if pl.m.closed.Load() {
				pl.mu.Unlock()
				pl.destroy(st)
				return
			}
			pl.idle = append(pl.idle, st)
			pl.notifyLocked()
			pl.mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("warm %s: %w", pl.proj.ID, err)
	}
	return nil
}

func (pl *pool) closeIdle() error {
	pl.mu.Lock()
	idle := pl.idle
	pl.idle = nil
	pl.mu.Unlock()
	var errs []error
	for _, st := range idle {
		errs = append(errs, pl.clear(st))
	}
	return errors.Join(errs...)
}
