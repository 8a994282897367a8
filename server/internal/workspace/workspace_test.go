package workspace_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/workspace"
)

// gitRun runs git with a fixed identity so commits work on any machine.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=Moose Test", "-c", "user.email=test@moose.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	require.NoError(t, err)
	return string(b)
}

func exists(dir, rel string) bool {
	_, err := os.Lstat(filepath.Join(dir, rel))
	return err == nil
}

// sourceRepo is a real repository with two commits on main.
type sourceRepo struct {
	dir           string
	first, second string
	project       workspace.Project
}

func newSourceRepo(t *testing.T) sourceRepo {
	t.Helper()
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q")
	writeFile(t, dir, ".gitignore", "/build/\n")
	writeFile(t, dir, "package.json", `{"name":"sample","version":"1.0.0"}`+"\n")
	writeFile(t, dir, "src/app.js", "module.exports = 1\n")
	writeFile(t, dir, "README.md", "v1\n")
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", "first")
	first := gitRun(t, dir, "rev-parse", "HEAD")
	writeFile(t, dir, "README.md", "v2\n")
	writeFile(t, dir, "src/lib.js", "module.exports = 2\n")
	gitRun(t, dir, "add", "-A")
	gitRun(t, dir, "commit", "-q", "-m", "second")
	second := gitRun(t, dir, "rev-parse", "HEAD")
	return sourceRepo{dir: dir, first: first, second: second,
		project: workspace.Project{ID: "sample", RepoURL: dir, Branch: "main"}}
}

var strategies = []workspace.Strategy{workspace.StrategyOverlay, workspace.StrategyCopy}

// newManager returns a manager using strategy, skipping when overlayfs cannot
// be mounted here (not root, not Linux, nested overlay).
func newManager(t *testing.T, cfg workspace.Config) *workspace.Manager {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	m, err := workspace.NewManager(cfg)
	if err != nil && cfg.Strategy == workspace.StrategyOverlay {
		t.Skipf("overlayfs unavailable: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

func forEachStrategy(t *testing.T, f func(t *testing.T, s workspace.Strategy)) {
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			f(t, s)
		})
	}
}

func TestAcquireChecksOutBaseCommit(t *testing.T) {
	t.Parallel()
	forEachStrategy(t, func(t *testing.T, s workspace.Strategy) {
		src := newSourceRepo(t)
		m := newManager(t, workspace.Config{Strategy: s})
		ctx := context.Background()

		w, err := m.Acquire(ctx, src.project, src.first[:10])
		require.NoError(t, err)
		defer w.Release()
		require.Equal(t, src.first, w.BaseCommit())
		require.Equal(t, "v1\n", readFile(t, w.Dir(), "README.md"))
		require.False(t, exists(w.Dir(), "src/lib.js"))
		require.Equal(t, src.first, gitRun(t, w.Dir(), "rev-parse", "HEAD"))
		require.Empty(t, gitRun(t, w.Dir(), "status", "--porcelain"))

		tip, err := m.Acquire(ctx, src.project, "")
		require.NoError(t, err)
		defer tip.Release()
		require.Equal(t, src.second, tip.BaseCommit())
		require.Equal(t, "v2\n", readFile(t, tip.Dir(), "README.md"))
		require.NotEqual(t, w.Dir(), tip.Dir())

		// A real repository: commits on a branch work, and origin is the project.
		gitRun(t, tip.Dir(), "checkout", "-q", "-b", "moose/wo-1")
		writeFile(t, tip.Dir(), "new.txt", "x\n")
		gitRun(t, tip.Dir(), "add", "-A")
		gitRun(t, tip.Dir(), "commit", "-q", "-m", "change")
		require.Equal(t, src.dir, gitRun(t, tip.Dir(), "remote", "get-url", "origin"))
	})
}

func TestAcquireFetchesNewCommitsAndRejectsUnknown(t *testing.T) {
	t.Parallel()
	src := newSourceRepo(t)
	m := newManager(t, workspace.Config{})
	ctx := context.Background()

	w, err := m.Acquire(ctx, src.project, "")
	require.NoError(t, err)
	w.Release()

	writeFile(t, src.dir, "README.md", "v3\n")
	gitRun(t, src.dir, "commit", "-q", "-am", "third")
	third := gitRun(t, src.dir, "rev-parse", "HEAD")

	w, err = m.Acquire(ctx, src.project, third)
	require.NoError(t, err)
	require.Equal(t, "v3\n", readFile(t, w.Dir(), "README.md"))
	w.Release()

	_, err = m.Acquire(ctx, src.project, strings.Repeat("ab", 20))
	require.ErrorIs(t, err, workspace.ErrCommitNotFound)
	_, err = m.Acquire(ctx, src.project, "--upload-pack=evil")
	require.ErrorIs(t, err, workspace.ErrCommitNotFound)
	_, err = m.Acquire(ctx, workspace.Project{ID: "x"}, "")
	require.ErrorIs(t, err, workspace.ErrInvalidProject)
}

func TestReleaseResetsToPristineKeepingNodeModules(t *testing.T) {
	t.Parallel()
	forEachStrategy(t, func(t *testing.T, s workspace.Strategy) {
		src := newSourceRepo(t)
		install := func(ctx context.Context, dir string) error {
			p := filepath.Join(dir, "node_modules", "left-pad")
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(p, "index.js"), []byte("installed\n"), 0o644)
		}
		m := newManager(t, workspace.Config{Strategy: s, PoolSize: 1, InstallDeps: install})
		ctx := context.Background()

		w, err := m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		dir := w.Dir()
		require.Equal(t, "installed\n", readFile(t, dir, "node_modules/left-pad/index.js"))
		writeFile(t, dir, "node_modules/.cache/entry", "cached\n")
		writeFile(t, dir, "README.md", "edited\n")
		writeFile(t, dir, "src/lib.js", "module.exports = 3\n") // same size: only mtime tells
		changed, err := w.ChangedFiles(ctx)
		require.NoError(t, err)
		require.Contains(t, changed, "src/lib.js")
		require.NoError(t, os.Remove(filepath.Join(dir, "src/app.js")))
		writeFile(t, dir, "src/untracked.js", "new\n")
		writeFile(t, dir, "build/out.bin", "ignored output\n")
		gitRun(t, dir, "checkout", "-q", "-b", "moose/wo-2")
		gitRun(t, dir, "commit", "-q", "-am", "wip")
		w.Release()
		w.Release() // second release is a no-op

		// The pool keeps one workspace: the next acquire waits for its reset and gets it back.
		w2, err := m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		defer w2.Release()
		require.Equal(t, dir, w2.Dir())
		require.Equal(t, "v2\n", readFile(t, dir, "README.md"))
		require.Equal(t, "module.exports = 1\n", readFile(t, dir, "src/app.js"))
		require.Equal(t, "module.exports = 2\n", readFile(t, dir, "src/lib.js"))
		require.False(t, exists(dir, "src/untracked.js"))
		require.False(t, exists(dir, "build/out.bin"))
		require.Equal(t, "installed\n", readFile(t, dir, "node_modules/left-pad/index.js"))
		if s == workspace.StrategyCopy {
			// In place resets keep what was written into node_modules; overlay
			// resets return it to the template's install.
			require.Equal(t, "cached\n", readFile(t, dir, "node_modules/.cache/entry"))
		} else {
			require.False(t, exists(dir, "node_modules/.cache/entry"))
		}
		require.Equal(t, src.second, gitRun(t, dir, "rev-parse", "HEAD"))
		require.Empty(t, gitRun(t, dir, "for-each-ref", "refs/heads/"))
		require.Empty(t, gitRun(t, dir, "status", "--porcelain"), "node_modules must be excluded from status")
		// The branch can be made again by the next attempt.
		gitRun(t, dir, "checkout", "-q", "-b", "moose/wo-2")
	})
}

func TestDependencyManifestChangeRestoresInstalledDeps(t *testing.T) {
	t.Parallel()
	forEachStrategy(t, func(t *testing.T, s workspace.Strategy) {
		src := newSourceRepo(t)
		var installs atomic.Int32
		install := func(ctx context.Context, dir string) error {
			installs.Add(1)
			pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "node_modules", "installed-for"), pkg, 0o644)
		}
		m := newManager(t, workspace.Config{Strategy: s, PoolSize: 1, InstallDeps: install})
		ctx := context.Background()
		pristinePkg := readFile(t, src.dir, "package.json")

		w, err := m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		dir := w.Dir()
		require.Equal(t, pristinePkg, readFile(t, dir, "node_modules/installed-for"))
		// Unchanged manifests: a copy keeps extra files in node_modules as a warm cache.
		writeFile(t, dir, "node_modules/cache-entry", "warm\n")
		w.Release()

		w, err = m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		require.Equal(t, dir, w.Dir())
		require.Equal(t, pristinePkg, readFile(t, dir, "node_modules/installed-for"))
		if s == workspace.StrategyCopy {
			require.Equal(t, "warm\n", readFile(t, dir, "node_modules/cache-entry"))
		}
		// Changed manifest plus a matching install: node_modules no longer fits base.
		writeFile(t, dir, "package.json", `{"name":"sample","dependencies":{"x":"1"}}`)
		writeFile(t, dir, "node_modules/x/index.js", "x\n")
		w.Release()

		w, err = m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		defer w.Release()
		require.Equal(t, pristinePkg, readFile(t, w.Dir(), "package.json"))
		require.Equal(t, pristinePkg, readFile(t, w.Dir(), "node_modules/installed-for"))
		require.False(t, exists(w.Dir(), "node_modules/x"))
		require.EqualValues(t, 1, installs.Load(), "install runs once per base commit")
	})
}

func TestMaxPerProjectBlocksAndHonoursContext(t *testing.T) {
	t.Parallel()
	src := newSourceRepo(t)
	m := newManager(t, workspace.Config{MaxPerProject: 1})
	ctx := context.Background()

	w, err := m.Acquire(ctx, src.project, src.second)
	require.NoError(t, err)

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = m.Acquire(short, src.project, src.second)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	got := make(chan *workspace.Workspace, 1)
	go func() {
		w2, err := m.Acquire(ctx, src.project, src.second)
		if err != nil {
			close(got)
			return
		}
		got <- w2
	}()
	select {
	case <-got:
		t.Fatal("second acquire must block while the limit is reached")
	case <-time.After(100 * time.Millisecond):
	}
	w.Release()
	w2, ok := <-got
	require.True(t, ok, "acquire after release failed")
	w2.Discard()
	require.NoDirExists(t, w2.Dir())
}

func TestConcurrentAcquiresGetSeparateTrees(t *testing.T) {
	t.Parallel()
	forEachStrategy(t, func(t *testing.T, s workspace.Strategy) {
		src := newSourceRepo(t)
		m := newManager(t, workspace.Config{Strategy: s, MaxPerProject: 4})
		ctx := context.Background()
		require.NoError(t, m.Warm(ctx, src.project, 2))

		const n = 4
		ws := make([]*workspace.Workspace, n)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ws[i], errs[i] = m.Acquire(ctx, src.project, "")
			}()
		}
		wg.Wait()
		dirs := map[string]bool{}
		for i := range n {
			require.NoError(t, errs[i])
			defer ws[i].Release()
			dirs[ws[i].Dir()] = true
			writeFile(t, ws[i].Dir(), "README.md", ws[i].Dir())
		}
		require.Len(t, dirs, n)
		for _, w := range ws {
			require.Equal(t, w.Dir(), readFile(t, w.Dir(), "README.md"), "a write leaked into another workspace")
		}
	})
}

func TestTreeHashAndChangedFiles(t *testing.T) {
	t.Parallel()
	forEachStrategy(t, func(t *testing.T, s workspace.Strategy) {
		src := newSourceRepo(t)
		m := newManager(t, workspace.Config{Strategy: s})
		ctx := context.Background()
		a, err := m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		defer a.Release()
		b, err := m.Acquire(ctx, src.project, src.second)
		require.NoError(t, err)
		defer b.Release()

		ha, err := a.TreeHash(ctx)
		require.NoError(t, err)
		require.Equal(t, gitRun(t, src.dir, "rev-parse", src.second+"^{tree}"), ha, "pristine hash is the base tree")
		changed, err := a.ChangedFiles(ctx)
		require.NoError(t, err)
		require.Empty(t, changed)

		for _, w := range []*workspace.Workspace{a, b} {
			writeFile(t, w.Dir(), "src/app.js", "module.exports = 42\n")
			writeFile(t, w.Dir(), "src/new.js", "new\n")
			require.NoError(t, os.Remove(filepath.Join(w.Dir(), "README.md")))
		}
		writeFile(t, b.Dir(), "build/ignored.txt", "not part of the tree\n")
		writeFile(t, b.Dir(), "node_modules/dep/index.js", "not part of the tree\n")
		ha, err = a.TreeHash(ctx)
		require.NoError(t, err)
		hb, err := b.TreeHash(ctx)
		require.NoError(t, err)
		require.Equal(t, ha, hb)
		require.NotEqual(t, gitRun(t, src.dir, "rev-parse", src.second+"^{tree}"), ha)

		writeFile(t, b.Dir(), "src/new.js", "different\n")
		hb, err = b.TreeHash(ctx)
		require.NoError(t, err)
		require.NotEqual(t, ha, hb)

		changed, err = b.ChangedFiles(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"README.md", "src/app.js", "src/new.js"}, changed)
		require.Empty(t, gitRun(t, b.Dir(), "diff", "--cached", "--name-only"), "the real index is untouched")

		// app.js: one line replaced; new.js: one line added (untracked); README.md: one line removed.
		added, removed, err := a.DiffStat(ctx, ha)
		require.NoError(t, err)
		require.Equal(t, 2, added)
		require.Equal(t, 2, removed)
	})
}

func TestMovesIdleWorkspaceToAnotherBase(t *testing.T) {
	t.Parallel()
	src := newSourceRepo(t)
	m := newManager(t, workspace.Config{PoolSize: 1})
	ctx := context.Background()
	w, err := m.Acquire(ctx, src.project, src.second)
	require.NoError(t, err)
	dir := w.Dir()
	w.Release()
	w, err = m.Acquire(ctx, src.project, src.first)
	require.NoError(t, err)
	defer w.Release()
	require.Equal(t, dir, w.Dir())
	require.Equal(t, "v1\n", readFile(t, w.Dir(), "README.md"))
	require.False(t, exists(w.Dir(), "src/lib.js"))
}

func TestCloseAndRootLock(t *testing.T) {
	t.Parallel()
	src := newSourceRepo(t)
	root := t.TempDir()
	m, err := workspace.NewManager(workspace.Config{Root: root})
	require.NoError(t, err)
	_, err = workspace.NewManager(workspace.Config{Root: root})
	require.ErrorIs(t, err, workspace.ErrRootInUse)
	require.NoError(t, m.Warm(context.Background(), src.project, 1))
	require.NoError(t, m.Close())
	_, err = m.Acquire(context.Background(), src.project, "")
	require.ErrorIs(t, err, workspace.ErrClosed)

	// A new manager on the same root reuses the mirror and template.
	m2 := newManager(t, workspace.Config{Root: root})
	w, err := m2.Acquire(context.Background(), src.project, "")
	require.NoError(t, err)
	require.Equal(t, "v2\n", readFile(t, w.Dir(), "README.md"))
	w.Release()
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  workspace.Config
		want []string
	}{
		{"ok", workspace.Config{Root: "/tmp/x"}, nil},
		{"everything wrong", workspace.Config{PoolSize: -1, MaxPerProject: -2, Strategy: "zfs", KeepDirs: []string{"a/b"}},
			[]string{"root", "pool size", "max per project", "strategy", "keep dirs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
	_, err := workspace.NewManager(workspace.Config{})
	require.Error(t, err)
	require.False(t, errors.Is(err, workspace.ErrClosed))
}
