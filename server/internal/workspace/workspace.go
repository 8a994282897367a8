package workspace

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Workspace is one checked-out working tree, owned by its holder until
// Release or Discard. It is a standalone git repository: `git -C Dir() commit`
// works, and origin points at the project's RepoURL.
type Workspace struct {
	pool *pool
	st   *wsState
	dir  string
	base string
	once sync.Once
}

// Dir is the working tree's absolute path.
func (w *Workspace) Dir() string { return w.dir }

// BaseCommit is the full id of the commit the workspace started from.
func (w *Workspace) BaseCommit() string { return w.base }

// Release returns the workspace to the pool, which resets it to its base
// commit in the background. The caller must not touch Dir afterwards.
// Calling Release or Discard again does nothing.
func (w *Workspace) Release() {
	w.once.Do(func() { w.pool.release(w.st) })
}

// Discard deletes the workspace instead of reusing it, for a tree in a state
// a reset might not repair (a sandbox that changed permissions, say).
func (w *Workspace) Discard() {
	w.once.Do(func() { w.pool.discard(w.st) })
}

// ChangedFiles lists the paths, relative to Dir and sorted, that differ from
// the base commit: modified, added, deleted, and untracked files that are not
// ignored.
func (w *Workspace) ChangedFiles(ctx context.Context) ([]string, error) {
	return changedFiles(ctx, w.dir, w.base)
}

func changedFiles(ctx context.Context, dir, base string) ([]string, error) {
	diff, err := git(ctx, dir, nil, "diff", "--name-only", "-z", "--no-renames", base, "--")
	if err != nil {
		return nil, fmt.Errorf("changed files: %w", err)
	}
	others, err := git(ctx, dir, nil, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil, fmt.Errorf("changed files: %w", err)
	}
	files := append(splitZ(diff), splitZ(others)...)
	slices.Sort(files)
	return slices.Compact(files), nil
}

// Diff returns the change against the base commit as a unified diff without
// context (tracked files; untracked files are listed by ChangedFiles).
func (w *Workspace) Diff(ctx context.Context) (string, error) {
	out, err := git(ctx, w.dir, nil, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", w.base, "--")
	if err != nil {
		return "", fmt.Errorf("diff: %w", err)
	}
	return string(out), nil
}

// TreeHash returns the git tree id of the working tree as it is now: tracked
// and untracked files, ignored files left out. Identical content gives the
// same hash in any workspace, so validation results can be reused. The real
// index is left alone: a temporary copy of it takes the `git add -A` (the copy
// keeps stat data, so only changed files are hashed).
func (w *Workspace) TreeHash(ctx context.Context) (string, error) {
	gitDir := filepath.Join(w.dir, ".git")
	tmp, err := os.CreateTemp(gitDir, "moose-treehash-*.index")
	if err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	defer os.Remove(tmp.Name())
	src, err := os.Open(filepath.Join(gitDir, "index"))
	if err == nil {
		_, err = io.Copy(tmp, src)
		src.Close()
	} else if os.IsNotExist(err) {
		// git rejects an empty index file; without one to copy, let it start afresh.
		err = os.Remove(tmp.Name())
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	env := []string{"GIT_INDEX_FILE=" + tmp.Name()}
	if _, err := git(ctx, w.dir, env, "add", "-A"); err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	out, err := git(ctx, w.dir, env, "write-tree")
	if err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// DiffStat counts the lines added and removed between the base commit and
// tree, a TreeHash of this workspace (binary files count as no lines).
func (w *Workspace) DiffStat(ctx context.Context, tree string) (added, removed int, err error) {
	out, err := git(ctx, w.dir, nil, "diff", "--numstat", "--no-renames", w.base, tree)
	if err != nil {
		return 0, 0, fmt.Errorf("diff stat: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		a, errA := strconv.Atoi(f[0])
		r, errR := strconv.Atoi(f[1])
		if errA == nil && errR == nil {
			added += a
			removed += r
		}
	}
	return added, removed, nil
}
