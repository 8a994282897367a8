package servertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/moosehq/moose/server"
)

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// BuiltinPluginDir returns a directory holding every built-in plugin binary
// (moose-plugin-<name>). It uses $MOOSE_PLUGIN_DIR when that holds them (make
// test builds them into bin/), and otherwise builds them once per test binary.
func BuiltinPluginDir(t testing.TB) string {
	t.Helper()
	pluginsOnce.Do(func() {
		if d := os.Getenv("MOOSE_PLUGIN_DIR"); d != "" {
			if m, _ := filepath.Glob(filepath.Join(d, "moose-plugin-*")); len(m) > 0 {
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
// user, shared by all test binaries: a lock serialises builds, and each binary
// is renamed into place, so a plugin another test is running keeps its file.
// Go builds are reproducible, so a rebuilt binary keeps its sha256.
func buildPlugins() (string, error) {
	out, err := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "github.com/moosehq/moose/plugins/...").Output()
	if err != nil {
		return "", fmt.Errorf("list plugins: %w", err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("moose-test-plugins-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/internal/") {
			continue
		}
		bin := filepath.Join(dir, "moose-plugin-"+filepath.Base(pkg))
		tmp := bin + ".new"
		if b, err := exec.Command("go", "build", "-o", tmp, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %w: %s", pkg, err, b)
		}
		if err := os.Rename(tmp, bin); err != nil {
			return "", err
		}
	}
	return dir, nil
}

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
