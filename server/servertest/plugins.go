package servertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

func buildPlugins() (string, error) {
	out, err := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "github.com/moosehq/moose/plugins/...").Output()
	if err != nil {
		return "", fmt.Errorf("list plugins: %w", err)
	}
	dir, err := os.MkdirTemp("", "moose-test-plugins-")
	if err != nil {
		return "", err
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "/internal/") {
			continue
		}
		bin := filepath.Join(dir, "moose-plugin-"+filepath.Base(pkg))
		if b, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %w: %s", pkg, err, b)
		}
	}
	return dir, nil
}

// WithBuiltinPlugins makes the server load the built-in plugins.
func WithBuiltinPlugins(t testing.TB) Option {
	dir := BuiltinPluginDir(t)
	return func(c *server.Config) { c.PluginDir = dir }
}
