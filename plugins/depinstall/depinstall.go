// Package depinstall fetches a project's dependencies so that its builds and
// tests can later run in the sandbox with no network at all. It runs outside
// the sandbox, with the network, and never runs the project's own scripts:
// `go mod download` for Go, `npm ci --ignore-scripts` (or `npm install
// --ignore-scripts` without a lockfile) for Node. Its environment holds only
// PATH and the cache, registry and proxy variables package managers need: no
// API key or token reaches it.
//
// moosed's workspace pool runs it once per base commit; the validator tests
// use it to prepare sample projects. It is one implementation for both.
package depinstall

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// Languages Install understands.
const (
	Go   = "go"
	Node = "node"
)

// passthrough are the variables dependency installation may need: where the
// caches are and how to reach the registries.
var passthrough = []string{
	"HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOPROXY", "GOPRIVATE",
	"GONOSUMDB", "GOSUMDB", "GOFLAGS", "GOINSECURE",
	"npm_config_registry", "npm_config_cache", "NPM_CONFIG_REGISTRY", "NPM_CONFIG_CACHE",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// Env is the environment an install runs with.
func Env() map[string]string {
	env := map[string]string{"PATH": os.Getenv("PATH")}
	for _, k := range passthrough {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return env
}

// Detect names the language whose manifest dir holds (Node first: a Node
// project may vendor Go tools), or "" when there is nothing to install.
func Detect(dir string) string {
	switch {
	case exists(filepath.Join(dir, "package.json")):
		return Node
	case exists(filepath.Join(dir, "go.mod")):
		return Go
	}
	return ""
}

// Install downloads the dependencies of the lang project in dir.
func Install(ctx context.Context, dir, lang string) error {
	env := Env()
	var args []string
	switch lang {
	case Go:
		if !exists(filepath.Join(dir, "go.mod")) {
			return fmt.Errorf("install go dependencies: no go.mod in %s", dir)
		}
		env["GOTOOLCHAIN"] = "local"
		args = []string{"go", "mod", "download"}
	case Node:
		if !exists(filepath.Join(dir, "package.json")) {
			return fmt.Errorf("install node dependencies: no package.json in %s", dir)
		}
		args = []string{"npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"}
		if exists(filepath.Join(dir, "package-lock.json")) {
			args = []string{"npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"}
		}
		env["npm_config_update_notifier"] = "false"
	default:
		return fmt.Errorf("install dependencies: unknown language %q", lang)
	}
	res, err := sandbox.RunUnsandboxed(ctx, sandbox.Spec{
		Dir:           dir,
		Args:          args,
		Env:           env,
		Timeout:       10 * time.Minute,
		MemoryBytes:   -1,
		OutputLimit:   64 << 10,
		CombineOutput: true,
	})
	if err != nil {
		return fmt.Errorf("install %s dependencies: %w", lang, err)
	}
	if !res.Success() {
		out := strings.TrimSpace(res.Stdout)
		if len(out) > 4096 {
			out = "…" + out[len(out)-4096:]
		}
		return fmt.Errorf("install %s dependencies: %s exited %d: %s", lang, strings.Join(args, " "), res.ExitCode, out)
	}
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
