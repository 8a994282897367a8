package workspace_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/workspace"
)

func TestViewHidesGitAndDiscardsWrites(t *testing.T) {
	t.Parallel()
	forEachStrategy(t, func(t *testing.T, s workspace.Strategy) {
		src := newSourceRepo(t)
		m := newManager(t, workspace.Config{Strategy: s})
		ctx := context.Background()
		w, err := m.Acquire(ctx, src.project, "")
		require.NoError(t, err)
		defer w.Release()
		writeFile(t, w.Dir(), "src/new.js", "module.exports = 3\n")
		hashBefore, err := w.TreeHash(ctx)
		require.NoError(t, err)

		v, err := w.View(ctx, workspace.ViewLimits{})
		require.NoError(t, err)
		// The view holds the tree as the holder left it, without .git.
		require.Equal(t, "module.exports = 3\n", readFile(t, v.Dir, "src/new.js"))
		require.Equal(t, "v2\n", readFile(t, v.Dir, "README.md"))
		_, err = os.Lstat(filepath.Join(v.Dir, ".git"))
		require.ErrorIs(t, err, os.ErrNotExist)

		// What code does in the view never reaches the workspace.
		writeFile(t, v.Dir, "build/out.bin", "artifact\n")
		writeFile(t, v.Dir, "README.md", "rewritten\n")
		require.NoError(t, os.MkdirAll(filepath.Join(v.Dir, ".git", "hooks"), 0o755))
		writeFile(t, v.Dir, ".git/config", "[core]\n\tfsmonitor = /bin/false\n")
		require.NoError(t, os.Remove(filepath.Join(v.Dir, "src", "app.js")))
		require.NoError(t, v.Close())
		require.NoError(t, v.Close(), "Close twice is fine")
		_, err = os.Stat(v.Dir)
		require.ErrorIs(t, err, os.ErrNotExist)

		require.Equal(t, "v2\n", readFile(t, w.Dir(), "README.md"))
		require.True(t, exists(w.Dir(), "src/app.js"))
		require.False(t, exists(w.Dir(), "build/out.bin"))
		cfg := readFile(t, w.Dir(), ".git/config")
		require.NotContains(t, cfg, "fsmonitor")
		hashAfter, err := w.TreeHash(ctx)
		require.NoError(t, err)
		require.Equal(t, hashBefore, hashAfter)
	})
}

func TestViewWriteQuota(t *testing.T) {
	t.Parallel()
	src := newSourceRepo(t)
	m := newManager(t, workspace.Config{Strategy: workspace.StrategyOverlay})
	ctx := context.Background()
	w, err := m.Acquire(ctx, src.project, "")
	require.NoError(t, err)
	defer w.Release()

	v, err := w.View(ctx, workspace.ViewLimits{WriteBytes: 4 << 20, TmpBytes: 2 << 20})
	require.NoError(t, err)
	defer v.Close()
	require.False(t, v.Usage().TreeFull)

	big := []byte(strings.Repeat("x", 1<<20))
	var werr error
	for i := 0; i < 8 && werr == nil; i++ {
		werr = os.WriteFile(filepath.Join(v.Dir, "fill", "f"+string(rune('a'+i))), big, 0o644)
		if os.IsNotExist(werr) {
			require.NoError(t, os.MkdirAll(filepath.Join(v.Dir, "fill"), 0o755))
			werr = os.WriteFile(filepath.Join(v.Dir, "fill", "f"+string(rune('a'+i))), big, 0o644)
		}
	}
	require.Error(t, werr, "writing 8 MiB into a 4 MiB view must fail")
	require.Contains(t, werr.Error(), "no space left")
	u := v.Usage()
	require.True(t, u.TreeFull, "%+v", u)
	require.False(t, u.TmpFull)

	require.NotEmpty(t, v.TmpDir)
	err = os.WriteFile(filepath.Join(v.TmpDir, "t"), []byte(strings.Repeat("y", 3<<20)), 0o644)
	require.Error(t, err)
	require.True(t, v.Usage().TmpFull)
}
