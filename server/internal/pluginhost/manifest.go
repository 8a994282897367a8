package pluginhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ManifestFile is the name of the built-in plugin manifest inside the plugin
// directory. `make build` writes it (through WriteManifest) after building
// the plugins; moosed registers as built-ins only the binaries it lists, each
// pinned to the sha256 recorded there.
const ManifestFile = "moose-plugins.manifest.json"

// manifestFormat is the version of the manifest's layout.
const manifestFormat = 1

// Manifest lists the built-in plugins of one build.
type Manifest struct {
	Format  int             `json:"format"`
	Plugins []ManifestEntry `json:"plugins"`
}

// ManifestEntry is one built-in binary. Kind, Name and Version are optional:
// when present, the binary must report exactly them when launched.
type ManifestEntry struct {
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Kind    Kind   `json:"kind,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// WriteManifest records the given plugin binaries of dir (file names, not
// paths) with their sha256 in dir/ManifestFile, replacing any previous
// manifest atomically. It is the one implementation behind `make build` and
// every test that prepares a plugin directory. The manifest is written
// readable by everyone and writable only by its owner, as moosed requires.
func WriteManifest(dir string, files ...string) error {
	m := Manifest{Format: manifestFormat}
	seen := map[string]bool{}
	for _, f := range files {
		if err := checkManifestName(f); err != nil {
			return fmt.Errorf("write plugin manifest: %w", err)
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("write plugin manifest: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("write plugin manifest: %s is not a regular file", f)
		}
		sum, err := FileSHA256(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("write plugin manifest: %w", err)
		}
		m.Plugins = append(m.Plugins, ManifestEntry{File: f, SHA256: sum})
	}
	slices.SortFunc(m.Plugins, func(a, b ManifestEntry) int { return strings.Compare(a.File, b.File) })
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+ManifestFile+".*")
	if err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("write plugin manifest: %w", err)
	}
	return nil
}

// ReadManifest reads dir/ManifestFile. A missing manifest is an error that
// wraps os.ErrNotExist.
func ReadManifest(dir string) (Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("read plugin manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("read plugin manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != manifestFormat {
		return Manifest{}, fmt.Errorf("read plugin manifest %s: format %d, want %d", filepath.Join(dir, ManifestFile), m.Format, manifestFormat)
	}
	var errs []error
	for _, e := range m.Plugins {
		if err := checkManifestName(e.File); err != nil {
			errs = append(errs, err)
		}
		if len(e.SHA256) != 64 {
			errs = append(errs, fmt.Errorf("%s: sha256 must be 64 hex digits", e.File))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Manifest{}, fmt.Errorf("read plugin manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// checkManifestName accepts only a built-in's plain file name: the manifest
// cannot point outside the plugin directory.
func checkManifestName(f string) error {
	if f == "" || f != filepath.Base(f) || f == "." || f == ".." || strings.ContainsRune(f, os.PathSeparator) {
		return fmt.Errorf("manifest entry %q is not a file name inside the plugin directory", f)
	}
	if !strings.HasPrefix(f, BuiltinPrefix) {
		return fmt.Errorf("manifest entry %q does not start with %s", f, BuiltinPrefix)
	}
	return nil
}

// CheckDir refuses a plugin directory, or a manifest in it, that another user
// could change: writable by group or others, or owned by someone other than
// root or this process's user. (Vault checks its plugin directory the same
// way.) Anyone who can write there could swap a binary moosed launches.
func CheckDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("plugin dir %s: %w", dir, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("plugin dir %s: %w", abs, err)
	}
	if err := checkOwnerAndMode(resolved, "plugin dir"); err != nil {
		return err
	}
	manifest := filepath.Join(resolved, ManifestFile)
	if _, err := os.Lstat(manifest); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return checkOwnerAndMode(manifest, "plugin manifest")
}

func checkOwnerAndMode(path, what string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s %s is a symbolic link: replace it with the file itself", what, path)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s %s is writable by group or others (mode %04o): run chmod go-w %s", what, path, fi.Mode().Perm(), path)
	}
	if uid, ok := fileOwner(fi); ok && uid != 0 && uid != os.Getuid() {
		return fmt.Errorf("%s %s is owned by uid %d, not root or moosed's user (uid %d): run chown %d %s", what, path, uid, os.Getuid(), os.Getuid(), path)
	}
	return nil
}

func fileOwner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
