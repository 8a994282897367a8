package workspace_test

// Benchmarks of the pool against the naive path (clone + dependency install
// per work order). They live here rather than in bench/ because Go's internal
// rule keeps bench/ from importing server/internal/...; bench/workspace/README.md
// says how to run them and records the numbers.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moosehq/moose/server/internal/workspace"
)

// fixture is a source repository plus how its dependencies are installed.
type fixture struct {
	name    string
	project workspace.Project
	commit  string
	install func(ctx context.Context, dir string) error
}

func benchGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=b", "-c", "user.email=b@b.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v: %s", args, err, out)
	}
	return string(out[:max(0, len(out)-1)])
}

// repo5000 generates a repository of 5,000 source files (~45 MB) in 100 × 7 directories.
func repo5000(b *testing.B) fixture {
	dir := b.TempDir()
	for i := range 5000 {
		p := filepath.Join(dir, fmt.Sprintf("pkg%02d/sub%d/file%04d.go", i%100, i%7, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		body := fmt.Sprintf("package sub%d\n\n", i%7)
		for l := range 20 + i%60 {
			body += fmt.Sprintf("// line %d of file %d: some representative source text\n", l, i)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchGit(b, dir, "init", "-q")
	benchGit(b, dir, "add", "-A")
	benchGit(b, dir, "commit", "-q", "-m", "init")
	return fixture{name: "repo5000", commit: benchGit(b, dir, "rev-parse", "HEAD"),
		project: workspace.Project{ID: "repo5000", RepoURL: dir, Branch: "main"}}
}

func npmCI(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci: %w: %s", err, out)
	}
	return nil
}

// nodeSample is a small Node project with one real dependency and a lock file.
func nodeSample(b *testing.B) fixture {
	if _, err := exec.LookPath("npm"); err != nil {
		b.Skip("npm not installed")
	}
	dir := b.TempDir()
	files := map[string]string{
		"package.json": `{"name":"sample","version":"1.0.0","private":true,"scripts":{"test":"node test.js"},"dependencies":{"is-number":"^7.0.0"}}`,
		".gitignore":   "node_modules/\n",
		"index.js":     "const isNumber = require('is-number')\nmodule.exports = (x) => isNumber(x) ? Number(x) * 2 : NaN\n",
		"test.js":      "const double = require('./index')\nif (double('2') !== 4) process.exit(1)\n",
	}
	for i := range 40 {
		files[fmt.Sprintf("src/mod%02d.js", i)] = fmt.Sprintf("module.exports = () => %d\n", i)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cmd := exec.Command("npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--package-lock-only")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Skipf("npm registry unreachable: %v: %s", err, out)
	}
	benchGit(b, dir, "init", "-q")
	benchGit(b, dir, "add", "-A")
	benchGit(b, dir, "commit", "-q", "-m", "init")
	return fixture{name: "node", commit: benchGit(b, dir, "rev-parse", "HEAD"), install: npmCI,
		project: workspace.Project{ID: "node", RepoURL: dir, Branch: "main"}}
}

// freshCheckout is the naive path: clone the repository and install its dependencies.
func freshCheckout(b *testing.B, fx fixture, dst string) {
	out, err := exec.Command("git", "clone", "-q", fx.project.RepoURL, dst).CombinedOutput()
	if err != nil {
		b.Fatalf("clone: %v: %s", err, out)
	}
	if fx.install != nil {
		if err := fx.install(context.Background(), dst); err != nil {
			b.Fatal(err)
		}
	}
}

// use dirties a workspace the way a work order does: an edit, a new file,
// build output and a dependency cache entry.
func use(b *testing.B, dir string, i int) {
	for rel, content := range map[string]string{
		"README.md":                    fmt.Sprintf("edit %d\n", i),
		"new/generated.go":             "package gen\n",
		"build/out.bin":                "output",
		"node_modules/.cache/entry.js": "cache",
	} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	cleanups   []func()
	baselineMu sync.Mutex
	baselines  = map[string]time.Duration{}
)

// baseline measures reps naive checkouts once per fixture and process.
func baseline(b *testing.B, fx fixture, reps int) time.Duration {
	baselineMu.Lock()
	defer baselineMu.Unlock()
	key := fmt.Sprintf("%s/%d", fx.name, reps)
	if d, ok := baselines[key]; ok {
		return d
	}
	// At most 5 real runs, scaled to reps, to keep the benchmark under two minutes.
	runs := min(reps, 5)
	root := b.TempDir()
	start := time.Now()
	for i := range runs {
		freshCheckout(b, fx, filepath.Join(root, fmt.Sprint(i)))
	}
	d := time.Since(start) * time.Duration(reps) / time.Duration(runs)
	baselines[key] = d
	return d
}

func benchStrategies(b *testing.B, fx fixture, f func(b *testing.B, s workspace.Strategy)) {
	for _, s := range []workspace.Strategy{workspace.StrategyOverlay, workspace.StrategyCopy} {
		b.Run(fx.name+"/"+string(s), func(b *testing.B) { f(b, s) })
	}
}

func benchManager(b *testing.B, fx fixture, s workspace.Strategy, poolSize int) *workspace.Manager {
	root, err := os.MkdirTemp("", "bench-ws-")
	if err != nil {
		b.Fatal(err)
	}
	m, err := workspace.NewManager(workspace.Config{Root: root, Strategy: s, PoolSize: poolSize, MaxPerProject: 16, InstallDeps: fx.install})
	if err != nil {
		_ = os.RemoveAll(root)
		b.Skipf("strategy %s unavailable: %v", s, err)
	}
	// The manager outlives this round's b (see BenchmarkAcquireReset): clean up at process exit.
	cleanups = append(cleanups, func() { _ = m.Close(); _ = os.RemoveAll(root) })
	return m
}

// BenchmarkAcquireReset: steady state. Each op acquires the workspace used by
// the previous op, which must first be reset (git checkout -f + clean keeping
// node_modules), and dirties it again. Compared with a fresh clone + install.
func BenchmarkAcquireReset(b *testing.B) {
	if testing.Short() {
		b.Skip("benchmark needs real git and npm")
	}
	b.Cleanup(func() {
		for _, f := range cleanups {
			f()
		}
		cleanups = nil
	})
	for _, fx := range []fixture{repo5000(b), nodeSample(b)} {
		managers := map[workspace.Strategy]*workspace.Manager{}
		benchStrategies(b, fx, func(b *testing.B, s workspace.Strategy) {
			ctx := context.Background()
			// The testing package calls this once per b.N it tries: build the
			// mirror and template once, not per round.
			m := managers[s]
			if m == nil {
				m = benchManager(b, fx, s, 1)
				managers[s] = m
				w, err := m.Acquire(ctx, fx.project, fx.commit)
				if err != nil {
					b.Fatal(err)
				}
				use(b, w.Dir(), -1)
				w.Release()
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				w, err := m.Acquire(ctx, fx.project, fx.commit)
				if err != nil {
					b.Fatal(err)
				}
				use(b, w.Dir(), i)
				w.Release()
			}
			// Wait for the last reset too: N resets and N+1 acquires, divided by N.
			w, err := m.Acquire(ctx, fx.project, fx.commit)
			if err != nil {
				b.Fatal(err)
			}
			perOp := time.Since(start) / time.Duration(b.N)
			b.StopTimer()
			w.Release()
			fresh := baseline(b, fx, 3) / 3
			b.ReportMetric(float64(perOp.Microseconds())/1000, "ms/acquire+reset")
			b.ReportMetric(float64(fresh.Microseconds())/1000, "ms/fresh-clone+install")
			b.ReportMetric(float64(fresh)/float64(perOp), "x-speedup")
		})
	}
}

// BenchmarkPoolStart: a cold Root to 15 ready workspaces (mirror clone, one
// template with dependencies installed, 15 workspaces), compared with 15
// sequential clones + installs.
func BenchmarkPoolStart(b *testing.B) {
	if testing.Short() {
		b.Skip("benchmark needs real git and npm")
	}
	const n = 15
	for _, fx := range []fixture{repo5000(b), nodeSample(b)} {
		benchStrategies(b, fx, func(b *testing.B, s workspace.Strategy) {
			ctx := context.Background()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				root := b.TempDir()
				b.StartTimer()
				start := time.Now()
				m, err := workspace.NewManager(workspace.Config{Root: root, Strategy: s, PoolSize: n, MaxPerProject: n, InstallDeps: fx.install})
				if err != nil {
					b.Skipf("strategy %s unavailable: %v", s, err)
				}
				if err := m.Warm(ctx, fx.project, n); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				if err := m.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			perStart := total / time.Duration(b.N)
			fresh := baseline(b, fx, n)
			b.ReportMetric(perStart.Seconds(), "s/pool-start-15")
			b.ReportMetric(fresh.Seconds(), "s/15x-clone+install")
			b.ReportMetric(float64(fresh)/float64(perStart), "x-speedup")
		})
	}
}
