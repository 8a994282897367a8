// Package buildcache keeps one build-cache directory per project: the Go build
// cache and whatever else a validator caches between runs.
//
// A build cache is written by the code it builds' toolchain while generated
// code runs next to it, so it is trusted only as far as the code that could
// write it. One cache shared by every project would let one project's
// generated code plant entries another project's build reads; a cache per
// project keeps each project's poison, if any, to itself. Validations get
// their project's directory read-write (it stays warm across the project's
// work orders) and never another's.
//
// A new project's cache starts as a copy of a seed: a cache moosed warmed
// once by validating a small module of its own (standard library packages
// only, no generated code), so the first work order of a project does not pay
// for compiling the standard library. The seed is never bound into a sandbox
// writable: only copies are.
//
// Layout under Root:
//
//	<Root>/seed/            the seed (made once; <Root>/seed.ready marks it done)
//	<Root>/projects/<id>/   one project's cache
package buildcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Seeder warms dir as a build cache by validating module (a Go module of
// moosed's own) with dir as the validation's cache path.
type Seeder func(ctx context.Context, module, dir string) error

// Config configures a Manager.
type Config struct {
	// Root holds the project caches. Required.
	Root string
	// SeedDir is where the seed lives (default Root/seed). Several managers
	// may share one (tests do); making it is serialised with a file lock.
	SeedDir string
	// Seed warms the seed; nil means new project caches start empty.
	Seed Seeder
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Manager hands out project caches.
type Manager struct {
	cfg Config
	log *slog.Logger

	seedOnce sync.Once
	seedErr  error

	mu    sync.Mutex
	ready map[string]bool
}

// New returns a Manager; it creates Root.
func New(cfg Config) (*Manager, error) {
	if cfg.Root == "" {
		return nil, errors.New("build cache: root is required")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("build cache root: %w", err)
	}
	cfg.Root = root
	if cfg.SeedDir == "" {
		cfg.SeedDir = filepath.Join(root, "seed")
	}
	if err := os.MkdirAll(filepath.Join(root, "projects"), 0o755); err != nil {
		return nil, fmt.Errorf("create build cache root: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, log: log, ready: map[string]bool{}}, nil
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func key(id string) string {
	if safeID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "p-" + hex.EncodeToString(sum[:12])
}

// Dir returns project's cache directory, creating it from the seed the first
// time. A failure to seed is logged and the project starts with an empty
// cache: a cold build is slower, not wrong.
func (m *Manager) Dir(ctx context.Context, project string) (string, error) {
	dir := filepath.Join(m.cfg.Root, "projects", key(project))
	m.mu.Lock()
	ok := m.ready[dir]
	m.mu.Unlock()
	if ok {
		return dir, nil
	}
	if _, err := os.Stat(dir); err == nil {
		m.markReady(dir)
		return dir, nil
	}
	tmp := dir + ".tmp-" + fmt.Sprint(time.Now().UnixNano())
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("create build cache of %s: %w", project, err)
	}
	if seed, err := m.seed(ctx); err != nil {
		m.log.Warn("build cache seed unavailable; project cache starts empty", "project", project, "err", err)
	} else if seed != "" {
		if err := copyTree(ctx, seed, tmp); err != nil {
			m.log.Warn("copy build cache seed", "project", project, "err", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr != nil {
			return "", fmt.Errorf("create build cache of %s: %w", project, err)
		}
		// Another caller made it first.
	}
	m.markReady(dir)
	return dir, nil
}

func (m *Manager) markReady(dir string) {
	m.mu.Lock()
	m.ready[dir] = true
	m.mu.Unlock()
}

// Remove deletes a project's cache (a project that is gone, or a cache an
// operator no longer trusts).
func (m *Manager) Remove(project string) error {
	dir := filepath.Join(m.cfg.Root, "projects", key(project))
	m.mu.Lock()
	delete(m.ready, dir)
	m.mu.Unlock()
	return os.RemoveAll(dir)
}

// seed returns the seed directory, making it once per process (and once per
// SeedDir across processes).
func (m *Manager) seed(ctx context.Context) (string, error) {
	if m.cfg.Seed == nil {
		return "", nil
	}
	m.seedOnce.Do(func() { m.seedErr = m.makeSeed(ctx) })
	if m.seedErr != nil {
		return "", m.seedErr
	}
	return m.cfg.SeedDir, nil
}

func (m *Manager) makeSeed(ctx context.Context) error {
	dir := m.cfg.SeedDir
	readyFile := dir + ".ready"
	if _, err := os.Stat(readyFile); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create seed parent: %w", err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock seed: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock seed: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(readyFile); err == nil {
		return nil // made by another process while we waited
	}
	start := time.Now()
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear seed: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create seed: %w", err)
	}
	module, err := os.MkdirTemp("", "moose-seed-module-")
	if err != nil {
		return fmt.Errorf("seed module: %w", err)
	}
	defer os.RemoveAll(module)
	if err := writeSeedModule(module); err != nil {
		return err
	}
	if err := m.cfg.Seed(ctx, module, dir); err != nil {
		return fmt.Errorf("warm seed: %w", err)
	}
	if err := os.WriteFile(readyFile, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return fmt.Errorf("mark seed ready: %w", err)
	}
	m.log.Info("build cache seed made", "dir", dir, "took", time.Since(start))
	return nil
}

// seedPackages are the standard library packages typical Go projects and
// their tests import; building and testing a module that imports them puts
// them in the cache.
var seedPackages = []string{
	"bufio", "bytes", "context", "encoding/json", "errors", "fmt", "io", "math",
	"net/http", "os", "path/filepath", "reflect", "regexp", "sort", "strconv",
	"strings", "sync", "time", "unicode", "unicode/utf8",
}

func writeSeedModule(dir string) error {
	var imports strings.Builder
	for _, p := range seedPackages {
		fmt.Fprintf(&imports, "\t_ %q\n", p)
	}
	files := map[string]string{
		"go.mod":       "module moose.local/seed\n\ngo 1.21\n",
		"seed.go":      "// Package seed imports what typical projects import.\npackage seed\n\nimport (\n" + imports.String() + ")\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
		"seed_test.go": "package seed\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(\"1+2\")\n\t}\n}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write seed module: %w", err)
		}
	}
	return nil
}

func copyTree(ctx context.Context, src, dst string) error {
	out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", src+"/.", dst+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cp: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
