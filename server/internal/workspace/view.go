package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Defaults for ViewLimits.
const (
	DefaultViewWriteBytes = 1 << 30
	DefaultViewTmpBytes   = 512 << 20
)

// ViewLimits bound what code run in a View may write.
type ViewLimits struct {
	// WriteBytes bounds what may be written into the tree (default 1 GiB).
	WriteBytes int64
	// TmpBytes bounds the private temporary directory (default 512 MiB).
	TmpBytes int64
}

func (l ViewLimits) withDefaults() ViewLimits {
	if l.WriteBytes <= 0 {
		l.WriteBytes = DefaultViewWriteBytes
	}
	if l.TmpBytes <= 0 {
		l.TmpBytes = DefaultViewTmpBytes
	}
	return l
}

// View is a throwaway copy of a workspace's tree, for running untrusted code:
// it holds the tree exactly as the holder left it, without the .git
// directory, and every write to it is discarded by Close. Moosed's own git
// commands keep running on the workspace, which the code run in the view can
// neither see nor change.
//
// With the overlay strategy the view is an overlayfs whose lower layer is the
// workspace tree (.git hidden by a whiteout) and whose upper layer lives on a
// tmpfs of ViewLimits.WriteBytes, so writes stop with ENOSPC at the quota and
// making the view costs a mount, whatever the tree's size. TmpDir is a second
// tmpfs of ViewLimits.TmpBytes. With the copy strategy (no overlayfs) the tree
// is copied without .git, TmpDir is empty (the sandbox makes a sized tmpfs of
// its own) and the write quota is measured, not enforced, by Usage.
type View struct {
	// Dir is the view's tree: the workspace tree without .git.
	Dir string
	// TmpDir is a private temporary directory bounded by TmpBytes, or empty.
	TmpDir string
	// Limits are the limits the view was made with.
	Limits ViewLimits

	root     string
	scratch  string // tmpfs holding the overlay's upper layer, overlay mode only
	overlay  bool
	baseSize int64 // copy mode: the tree's size as copied in
	once     sync.Once
	closeErr error
}

// ViewUsage says how much of its limits a view's writers used.
type ViewUsage struct {
	// TreeBytes is what was written into the tree (overlay: the upper layer's
	// tmpfs; copy: the copy's size minus the workspace's).
	TreeBytes int64
	// TreeFull is set when the tree's quota was reached or exceeded.
	TreeFull bool
	// TmpBytes is what TmpDir holds; TmpFull is set when it is full.
	TmpBytes int64
	TmpFull  bool
}

// View makes a throwaway view of the workspace's tree as it is now. The caller
// must Close it; the workspace must not change while the view is open.
func (w *Workspace) View(ctx context.Context, limits ViewLimits) (*View, error) {
	limits = limits.withDefaults()
	root := filepath.Join(w.st.root, "view")
	// A view left by a crashed holder is unknown state.
	if err := removeView(root); err != nil {
		return nil, fmt.Errorf("clear old view: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create view: %w", err)
	}
	v := &View{Dir: filepath.Join(root, "tree"), Limits: limits, root: root}
	var err error
	if w.pool.m.strategy == StrategyOverlay {
		err = v.mountOverlay(w.dir)
	} else {
		err = v.copyTree(ctx, w.dir)
	}
	if err != nil {
		_ = v.Close()
		return nil, err
	}
	return v, nil
}

func (v *View) mountOverlay(lower string) error {
	v.overlay = true
	v.scratch = filepath.Join(v.root, "scratch")
	v.TmpDir = filepath.Join(v.root, "tmp")
	for _, d := range []string{v.scratch, v.TmpDir, v.Dir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("create view: %w", err)
		}
	}
	// Overlay keeps some metadata in the upper layer (the work directory, copied
	// up directories): a little slack so that metadata does not eat the quota.
	if err := mountTmpfs(v.scratch, v.Limits.WriteBytes+(1<<20), 0o755); err != nil {
		return fmt.Errorf("create view: %w", err)
	}
	if err := mountTmpfs(v.TmpDir, v.Limits.TmpBytes, 0o1777); err != nil {
		return fmt.Errorf("create view: %w", err)
	}
	upper, work := filepath.Join(v.scratch, "upper"), filepath.Join(v.scratch, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("create view: %w", err)
		}
	}
	if err := whiteout(filepath.Join(upper, ".git")); err != nil {
		return fmt.Errorf("hide .git from the view: %w", err)
	}
	if err := mountOverlay(lower, upper, work, v.Dir); err != nil {
		return fmt.Errorf("create view: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(v.Dir, ".git")); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create view: .git is still visible in %s", v.Dir)
	}
	return nil
}

// copyTree copies every top-level entry of src but .git.
func (v *View) copyTree(ctx context.Context, src string) error {
	if err := os.Mkdir(v.Dir, 0o755); err != nil {
		return fmt.Errorf("create view: %w", err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("create view: %w", err)
	}
	var args []string
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		args = append(args, filepath.Join(src, e.Name()))
	}
	if len(args) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "cp", append(append(append([]string(nil), copyArgs...), args...), v.Dir+"/")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy tree into view: %w: %s", err, strings.TrimSpace(string(out)))
	}
	v.baseSize = dirSize(v.Dir)
	return nil
}

// Usage measures what the view's writers used. Call it after the code ran
// and before Close.
func (v *View) Usage() ViewUsage {
	var u ViewUsage
	if v.overlay {
		used, free := fsUsage(v.scratch)
		u.TreeBytes = max(used-(1<<20), 0)
		u.TreeFull = free < 64<<10 || u.TreeBytes >= v.Limits.WriteBytes
		u.TmpBytes, free = fsUsage(v.TmpDir)
		u.TmpFull = free < 64<<10
		return u
	}
	// Copy mode measures what the tree grew by since it was copied in.
	u.TreeBytes = max(dirSize(v.Dir)-v.baseSize, 0)
	u.TreeFull = u.TreeBytes >= v.Limits.WriteBytes
	return u
}

// Close unmounts and deletes the view, discarding everything written to it.
func (v *View) Close() error {
	v.once.Do(func() { v.closeErr = removeView(v.root) })
	return v.closeErr
}

// removeView detaches whatever is mounted under root and deletes it.
func removeView(root string) error {
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := unmountStale(root); err != nil {
		return err
	}
	// Code run in the view may have left directories without write
	// permission (copy mode): make them removable first.
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(root)
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
