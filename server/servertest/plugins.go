package servertest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// BuiltinPluginDir returns a directory holding every built-in plugin binary
// (moose-plugin-<name>) and the manifest that lists them. It uses
// $MOOSE_PLUGIN_DIR when that holds a manifest (make build writes one into
// bin/), and otherwise builds them once per test binary.
func BuiltinPluginDir(t testing.TB) string {
	t.Helper()
	pluginsOnce.Do(func() {
		if d := os.Getenv("MOOSE_PLUGIN_DIR"); d != "" {
			if _, err := os.Stat(filepath.Join(d, pluginhost.ManifestFile)); err == nil {
				pluginsDir = d
				return
			}
		}
		pluginsDir, pluginsErr = buildPlugins()
	})
	if pluginsErr != nil {
		t.Fatalf("servertest: build plugins: %v", pluginsErr)
	}
	return pluginsDir
}

// buildPlugins builds every plugin main of the module into one directory per
// user and checkout, shared by all test binaries, and writes its manifest: a
// lock serialises builds, and each binary is renamed into place, so a plugin
// another test is running keeps its file. Go builds are reproducible, so a
// rebuilt binary keeps its sha256. The directory is made writable by its
// owner only, as moosed requires of a plugin directory.
func buildPlugins() (string, error) {
	out, err := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "github.com/moosehq/moose/plugins/...").Output()
	if err != nil {
		return "", fmt.Errorf("list plugins: %w", err)
	}
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	// Checkouts of different branches build different binaries: one
	// directory each, so they never overwrite each other's plugins.
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(root))))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("moose-test-plugins-%d-%s", os.Getuid(), hex.EncodeToString(sum[:4])))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	var files []string
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/internal/") {
			continue
		}
		name := "moose-plugin-" + filepath.Base(pkg)
		bin := filepath.Join(dir, name)
		tmp := bin + ".new"
		if b, err := exec.Command("go", "build", "-o", tmp, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %w: %s", pkg, err, b)
		}
		if err := os.Rename(tmp, bin); err != nil {
			return "", err
		}
		files = append(files, name)
	}
	if len(files) == 0 {
		return "", errors.New("no plugin main packages found")
	}
	if err := pluginhost.WriteManifest(dir, files...); err != nil {
		return "", err
	}
	return dir, nil
}

// WritePluginManifest lists the named moose-plugin-* binaries of dir, with
// their sha256, in the manifest moosed reads at start to register built-ins
// (the same function `make build` uses). Tests that prepare a plugin directory
// of their own call it after building into it.
func WritePluginManifest(dir string, files ...string) error {
	return pluginhost.WriteManifest(dir, files...)
}

// PluginManifestFile is the manifest's file name inside a plugin directory.
const PluginManifestFile = pluginhost.ManifestFile

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// WithBuiltinPlugins makes the server load the built-in plugins.
func WithBuiltinPlugins(t testing.TB) Option {
	dir := BuiltinPluginDir(t)
	return func(c *server.Config) { c.PluginDir = dir }
}
