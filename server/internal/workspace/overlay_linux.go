//go:build linux

package workspace

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// mountOverlay mounts an overlayfs at merged. redirect_dir=on lets directories
// that come from the lower layer be renamed (os.Rename would fail with EXDEV
// otherwise); kernels that refuse the option get a plain mount.
func mountOverlay(lower, upper, work, merged string) error {
	for _, p := range []string{lower, upper, work} {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("mount overlay: path %q has characters overlayfs options cannot carry", p)
		}
	}
	base := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	err := syscall.Mount("overlay", merged, "overlay", 0, "redirect_dir=on,"+base)
	if err != nil {
		err = syscall.Mount("overlay", merged, "overlay", 0, base)
	}
	if err != nil {
		return fmt.Errorf("mount overlay at %s: %w", merged, err)
	}
	return nil
}

// unmountOverlay detaches lazily: a process still holding a file open in the
// workspace (a straggling test run) must not make release fail.
func unmountOverlay(merged string) error {
	if err := syscall.Unmount(merged, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
		return fmt.Errorf("unmount %s: %w", merged, err)
	}
	return nil
}

// unmountStale detaches every mount under root left by a previous process
// that died without Close.
func unmountStale(root string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil // not fatal: without mountinfo there is nothing we can find
	}
	defer f.Close()
	var points []string
	prefix := filepath.Clean(root) + string(filepath.Separator)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if strings.HasPrefix(mp, prefix) {
			points = append(points, mp)
		}
	}
	// Deepest first, so nested mounts come off before their parents.
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, mp := range points {
		if err := unmountOverlay(mp); err != nil {
			return err
		}
	}
	return nil
}

// unescapeMountinfo undoes the octal escapes (\040 for space...) in mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// lockRoot takes an exclusive, non-blocking flock so two Managers never wreck
// each other's workspaces. The lock dies with the process. Unlocking is
// explicit: a child forked at that moment shares the open file and would
// otherwise hold the lock until it execs.
func lockRoot(root string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(root, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock root: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock root %s: %w", root, ErrRootInUse)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

var copyArgs = []string{"-a", "--reflink=auto"}

// mountTmpfs mounts a tmpfs of size bytes at dir. Its pages are charged to
// the memory of whoever writes them, so a sandbox's memory limit bounds it too.
func mountTmpfs(dir string, size int64, mode os.FileMode) error {
	opts := fmt.Sprintf("size=%d,mode=%o", size, mode)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", dir, err)
	}
	return nil
}

// whiteout makes path an overlayfs whiteout: a 0/0 character device in the
// upper layer that hides the lower layer's entry of the same name.
func whiteout(path string) error {
	return syscall.Mknod(path, syscall.S_IFCHR|0o000, 0)
}

// fsUsage returns the bytes used and free on the file system holding dir.
func fsUsage(dir string) (used, free int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0
	}
	bs := int64(st.Bsize)
	return int64(st.Blocks-st.Bfree) * bs, int64(st.Bavail) * bs
}
