package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// Languages understood by InstallDeps and the presets.
const (
	LangGo   = "go"
	LangNode = "node"
)

// ErrUnknownLanguage is returned for a language no preset handles.
var ErrUnknownLanguage = errors.New("unknown language")

// NormalizeLang maps aliases ("typescript", "js", "npm", "golang") to LangGo or LangNode.
func NormalizeLang(lang string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "go", "golang":
		return LangGo, nil
	case "node", "npm", "javascript", "typescript", "js", "ts":
		return LangNode, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownLanguage, lang)
}

// installPassthrough are the caller's variables dependency installation may need: where the
// caches are and how to reach the registries. Credentials of other services stay behind.
var installPassthrough = []string{
	"HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GONOPROXY", "GOPRIVATE",
	"GONOSUMDB", "GOSUMDB", "GOFLAGS", "GOINSECURE",
	"npm_config_registry", "npm_config_cache", "NPM_CONFIG_REGISTRY", "NPM_CONFIG_CACHE",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// InstallDeps downloads a project's dependencies so that builds and tests can later run in
// the sandbox without network. It runs OUTSIDE the sandbox, with network, so it never runs
// the project's own scripts: `go mod download` for Go, `npm ci --ignore-scripts` (or
// `npm install --ignore-scripts` without a lockfile) for Node. The environment is cleared
// except PATH and the cache, registry and proxy variables above.
func InstallDeps(ctx context.Context, dir, lang string) error {
	l, err := NormalizeLang(lang)
	if err != nil {
		return err
	}
	env := map[string]string{"PATH": os.Getenv("PATH")}
	for _, k := range installPassthrough {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	var args []string
	switch l {
	case LangGo:
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			return fmt.Errorf("install go dependencies: %w", err)
		}
		env["GOTOOLCHAIN"] = "local"
		args = []string{"go", "mod", "download"}
	case LangNode:
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
			return fmt.Errorf("install node dependencies: %w", err)
		}
		args = []string{"npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"}
		if _, err := os.Stat(filepath.Join(dir, "package-lock.json")); err == nil {
			args = []string{"npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"}
		}
		env["npm_config_update_notifier"] = "false"
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
		return fmt.Errorf("install %s dependencies: %w", l, err)
	}
	if !res.Success() {
		return fmt.Errorf("install %s dependencies: %s exited %d: %s", l, strings.Join(args, " "), res.ExitCode,
			TrimLog(strings.TrimSpace(res.Stdout), 4096))
	}
	return nil
}
