package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pipeline"
	"github.com/moosehq/moose/server/internal/publish"
	"github.com/moosehq/moose/server/internal/workspace"
)

func TestGitPublishCommitsChangeAndLeavesWorktreeAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newFixture(t)
	fx.change(t, "v1")
	statusBefore := git(t, fx.dir, "status", "--porcelain")
	id := uuid.New()

	pub, err := publish.NewGit(publish.GitConfig{Remote: fx.bare}, nil).Publish(ctx, "https://example.com/ignored.git", fx.request(id, "body", "completed"))
	require.NoError(t, err)
	branch := pipeline.BranchFor(id)
	require.Equal(t, pipeline.Published{URL: fx.bare + "#" + branch, Branch: branch}, pub)

	sha := fx.branchSHA(t, branch)
	require.NotEmpty(t, sha)
	require.Equal(t, fx.base, git(t, fx.dir, "rev-parse", sha+"^"), "one commit on the base")
	require.Equal(t, "Moose <moose@localhost>", git(t, fx.dir, "log", "-1", "--format=%an <%ae>", sha))
	require.Equal(t, "Moose <moose@localhost>", git(t, fx.dir, "log", "-1", "--format=%cn <%ce>", sha))
	require.Contains(t, git(t, fx.dir, "log", "-1", "--format=%B", sha), "Moose-Work-Order: "+id.String())
	got, ok := fx.show(t, sha, "feature/feature.go")
	require.True(t, ok, "untracked file committed")
	require.Contains(t, got, `"v1"`)
	got, _ = fx.show(t, sha, "main.go")
	require.Contains(t, got, `println("v1")`)
	for _, p := range []string{"README.md", "debug.log", "build/out.bin"} {
		_, ok := fx.show(t, sha, p)
		require.False(t, ok, "%s must not be in the commit (deleted or ignored)", p)
	}

	// The worktree is untouched: same HEAD, same changes, no branch.
	require.Equal(t, fx.base, git(t, fx.dir, "rev-parse", "HEAD"))
	require.Equal(t, statusBefore, git(t, fx.dir, "status", "--porcelain"))
	require.Empty(t, git(t, fx.dir, "for-each-ref", "refs/heads/"))
	// The worktree's own remote was not used.
	_, err = os.Stat(filepath.Join(filepath.Dir(fx.dir), "decoy.git"))
	require.True(t, os.IsNotExist(err))
}

func TestGitRepublishForceUpdatesTheBranch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newFixture(t)
	p := publish.NewGit(publish.GitConfig{Author: publish.Signature{Name: "Bot", Email: "bot@example.com"}}, nil)
	id := uuid.New()
	branch := pipeline.BranchFor(id)

	fx.change(t, "v1")
	_, err := p.Publish(ctx, fx.bare, fx.request(id, "body", "needs_review"))
	require.NoError(t, err)
	first := fx.branchSHA(t, branch)

	fx.change(t, "v2")
	pub, err := p.Publish(ctx, fx.bare, fx.request(id, "body", "completed"))
	require.NoError(t, err)
	require.Equal(t, fx.bare+"#"+branch, pub.URL, "project repository is the remote when none is configured")
	second := fx.branchSHA(t, branch)
	require.NotEqual(t, first, second)
	require.Equal(t, fx.base, git(t, fx.dir, "rev-parse", second+"^"), "rebuilt on the base, not stacked on the first attempt")
	got, _ := fx.show(t, second, "feature/feature.go")
	require.Contains(t, got, `"v2"`)
	require.Equal(t, "Bot <bot@example.com>", git(t, fx.dir, "log", "-1", "--format=%an <%ae>", second))
}

func TestGitPublishErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("no changes", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t)
		write(t, fx.dir, "ignored.log", "only ignored files changed\n")
		_, err := publish.NewGit(publish.GitConfig{}, nil).Publish(ctx, fx.bare, fx.request(uuid.New(), "", "completed"))
		require.ErrorIs(t, err, publish.ErrNoChanges)
		require.ErrorIs(t, err, fault.ErrFailedPrecondition)
		require.False(t, publish.IsRetryable(err))
	})
	t.Run("missing remote", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t)
		fx.change(t, "v1")
		_, err := publish.NewGit(publish.GitConfig{}, nil).Publish(ctx, filepath.Join(t.TempDir(), "nope.git"), fx.request(uuid.New(), "", "completed"))
		require.ErrorIs(t, err, publish.ErrRepositoryNotFound)
		require.False(t, publish.IsRetryable(err))
	})
	t.Run("unknown base commit", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t)
		fx.change(t, "v1")
		req := fx.request(uuid.New(), "", "completed")
		req.BaseCommit = "0123456789012345678901234567890123456789"
		_, err := publish.NewGit(publish.GitConfig{}, nil).Publish(ctx, fx.bare, req)
		require.ErrorIs(t, err, fault.ErrFailedPrecondition)
	})
	t.Run("invalid request", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t)
		req := fx.request(uuid.New(), "", "completed")
		req.Branch = "--force"
		_, err := publish.NewGit(publish.GitConfig{}, nil).Publish(ctx, fx.bare, req)
		var v *fault.ValidationError
		require.ErrorAs(t, err, &v)
	})
	t.Run("credentials in the remote URL are not shown", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t)
		fx.change(t, "v1")
		_, err := publish.NewGit(publish.GitConfig{Remote: "https://user:hunter2@127.0.0.1:1/acme/widgets.git"}, nil).Publish(ctx, "", fx.request(uuid.New(), "", "completed"))
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
		require.True(t, publish.IsRetryable(err), "connection refused is worth retrying: %v", err)
	})
}

// A workspace from the real pool, published from and released, comes back
// pristine: publishing must not leave anything a reset would trip over.
func TestGitPublishFromPooledWorkspace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fx := newFixture(t)
	m, err := workspace.NewManager(workspace.Config{Root: t.TempDir(), Strategy: workspace.StrategyCopy, PoolSize: 1, MaxPerProject: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	proj := workspace.Project{ID: "widgets", RepoURL: fx.bare}

	ws, err := m.Acquire(ctx, proj, fx.base)
	require.NoError(t, err)
	write(t, ws.Dir(), "feature.go", "package main\n")
	write(t, ws.Dir(), "main.go", "package main\n\nfunc main() { println(1) }\n")
	id := uuid.New()
	_, err = publish.NewGit(publish.GitConfig{}, nil).Publish(ctx, fx.bare, pipeline.PublishRequest{
		WorkOrderID: id, Dir: ws.Dir(), BaseCommit: ws.BaseCommit(), Branch: pipeline.BranchFor(id), Title: "t", Outcome: "completed",
	})
	require.NoError(t, err)
	dir := ws.Dir()
	ws.Release()

	ws2, err := m.Acquire(ctx, proj, fx.base)
	require.NoError(t, err)
	defer ws2.Release()
	require.Equal(t, dir, ws2.Dir(), "the pool reused the workspace")
	require.Equal(t, fx.base, git(t, ws2.Dir(), "rev-parse", "HEAD"))
	require.Empty(t, git(t, ws2.Dir(), "status", "--porcelain"))
	changed, err := ws2.ChangedFiles(ctx)
	require.NoError(t, err)
	require.Empty(t, changed)
	_, ok := fx.show(t, fx.branchSHA(t, pipeline.BranchFor(id)), "feature.go")
	require.True(t, ok)
}
