// Package gocheck is the Go preset of Moose's validators: it builds, vets and tests a Go
// module inside the sandbox and turns the toolchain's output into findings, per-test
// results and coverage of the packages a change touched.
//
// The sandbox has no network, so the module's dependencies must already be in the module
// cache (check.InstallDeps). Commands run with GOPROXY=off, GOFLAGS=-mod=readonly and
// GOTOOLCHAIN=local: nothing is downloaded and go.mod is never rewritten. The module cache
// is bound read-only. The build cache is bound read-write but is a cache of its own
// (Options.GoCache), not the operator's: generated code must not be able to plant entries
// that a trusted build would later reuse.
package gocheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// Options configure a Go validation.
type Options struct {
	// Runner runs the commands (sandboxed unless the operator opted out).
	Runner check.Runner
	// Changed lists the worktree-relative paths the change touched; it scopes coverage and
	// TestsChanged. Empty means the whole module.
	Changed []string
	// GoCache is the build cache shared by validations (read-write). Default:
	// $XDG_CACHE_HOME/moose/sandbox-go-build.
	GoCache string
	// GoModCache is the module cache (read-only). Default: the host's `go env GOMODCACHE`.
	GoModCache string
	// GoRoot is the toolchain. Default: the host's `go env GOROOT`.
	GoRoot string
	// Mutation, when set, makes Test measure test strength after a passing
	// run (see package mutate).
	Mutation *check.MutationOptions
	// Repeats > 1 runs every test that many times in one `go test -count`
	// (a flakiness baseline): one build, one link per package.
	Repeats int
	// Criteria are the work order's acceptance criteria: after a run that
	// built, Test runs those that are executable examples of the changed
	// functions (package criteria) beside the proposal's tests.
	Criteria []string
}

type goEnv struct{ root, modCache string }

var hostGoEnv = sync.OnceValues(func() (goEnv, error) {
	out, err := exec.Command("go", "env", "GOROOT", "GOMODCACHE").Output()
	if err != nil {
		return goEnv{}, fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return goEnv{}, fmt.Errorf("go env: unexpected output %q", out)
	}
	return goEnv{root: strings.TrimSpace(lines[0]), modCache: strings.TrimSpace(lines[1])}, nil
})

// TreePath is where every tree is mounted in the sandbox. Go keys a compiled
// package (and so a cached test result) by its source directory's path
// unless built with -trimpath, which would change what runtime.Caller tells
// a project's own tests; one path for all trees lets every workspace of a
// project share the build and test caches, whatever its path on the host.
const TreePath = "/moose/tree"

// treePath is where the Go commands see the tree in dir.
func (o Options) treePath(dir string) string {
	if o.Runner.Unsandboxed {
		return dir
	}
	return TreePath
}

// spec builds the sandbox spec shared by every Go command, with the tree at
// TreePath.
func (o Options) spec(dir string, args ...string) (sandbox.Spec, error) {
	if o.GoRoot == "" || o.GoModCache == "" {
		ge, err := hostGoEnv()
		if err != nil {
			return sandbox.Spec{}, err
		}
		if o.GoRoot == "" {
			o.GoRoot = ge.root
		}
		if o.GoModCache == "" {
			o.GoModCache = ge.modCache
		}
	}
	if o.GoCache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return sandbox.Spec{}, fmt.Errorf("locate cache dir: %w", err)
		}
		o.GoCache = filepath.Join(base, "moose", "sandbox-go-build")
	}
	if err := os.MkdirAll(o.GoCache, 0o755); err != nil {
		return sandbox.Spec{}, fmt.Errorf("create go build cache: %w", err)
	}
	s := sandbox.Spec{
		Dir:           dir,
		MountAt:       TreePath,
		Args:          args,
		CombineOutput: true,
		ReadWrite:     []string{o.GoCache},
		Env: map[string]string{
			"PATH":        filepath.Join(o.GoRoot, "bin") + ":" + sandbox.DefaultPath,
			"GOROOT":      o.GoRoot,
			"GOCACHE":     o.GoCache,
			"GOMODCACHE":  o.GoModCache,
			"GOPATH":      "/tmp/home/go",
			"GOFLAGS":     "-mod=readonly -buildvcs=false",
			"GOPROXY":     "off",
			"GOSUMDB":     "off",
			"GOTOOLCHAIN": "local",
			"GOTELEMETRY": "off",
			"GOENV":       "off",
		},
	}
	if _, err := os.Stat(filepath.Join(dir, "vendor", "modules.txt")); err == nil {
		// A vendored module builds from vendor/, which needs no module cache at all.
		s.Env["GOFLAGS"] = "-mod=vendor -buildvcs=false"
	}
	if !strings.HasPrefix(o.GoRoot, "/usr/") {
		s.ReadOnly = append(s.ReadOnly, o.GoRoot)
	}
	if _, err := os.Stat(o.GoModCache); err == nil {
		s.ReadOnly = append(s.ReadOnly, o.GoModCache)
	}
	return s, nil
}

// Build runs `go build ./...` and, when that succeeds, `go vet ./...`. Report.OK is true
// when both succeed.
func Build(ctx context.Context, dir string, o Options) (check.Report, error) {
	rep := check.Report{TestsChanged: check.TouchesTests(o.Changed)}
	s, err := o.spec(dir, "go", "build", "./...")
	if err != nil {
		return rep, err
	}
	res, err := o.Runner.Run(ctx, s)
	if err != nil {
		return rep, err
	}
	rep.ApplyResult(res)
	rep.Findings = append(rep.Findings, ParseCompilerOutput(o.treePath(dir), res.Stdout, check.CategoryTypeError)...)
	if !res.Success() {
		ensureFinding(&rep, "go build failed")
		return rep, nil
	}

	s.Args = []string{"go", "vet", "./..."}
	res, err = o.Runner.Run(ctx, s)
	if err != nil {
		return rep, err
	}
	rep.ApplyResult(res)
	rep.Findings = append(rep.Findings, ParseCompilerOutput(o.treePath(dir), res.Stdout, check.CategoryVet)...)
	if !res.Success() {
		ensureFinding(&rep, "go vet failed")
		return rep, nil
	}
	rep.OK = true
	return rep, nil
}

// ensureFinding makes sure a failed step explains itself even when its output could not be
// parsed.
func ensureFinding(rep *check.Report, msg string) {
	if len(rep.Findings) > 0 {
		return
	}
	rep.Findings = append(rep.Findings, check.Finding{
		Category: check.CategoryBuildError, Severity: check.SeverityError,
		Message: msg + ": " + check.TrimLog(strings.TrimSpace(rep.Log), 2048),
	})
}

// Test runs `go test -json -cover ./...`, reporting per-test results, failures as findings
// and statement coverage of the packages the change touched.
//
// Go's test cache decides what reruns: a package whose test binary, flags,
// environment and files its tests read are all unchanged since a passing
// run in this project's build cache reports that run's results, so a change
// reruns the packages it can affect and no others. Repeats (a baseline
// counting flaky tests) and mutants always run (-count).
func Test(ctx context.Context, dir string, o Options) (check.Report, error) {
	rep := check.Report{TestsChanged: check.TouchesTests(o.Changed)}
	modulePath, err := ModulePath(dir)
	if err != nil {
		return rep, err
	}
	// The profile is written outside the worktree so that it never ends up in a commit.
	outDir, err := os.MkdirTemp("", "moose-gocheck-")
	if err != nil {
		return rep, fmt.Errorf("create coverage dir: %w", err)
	}
	defer os.RemoveAll(outDir)
	profile := filepath.Join(outDir, "cover.out")

	// Repeats keep the coverage flags too: a baseline then compiles the
	// packages exactly as the candidates' runs will, and they reuse them.
	args := []string{"go", "test", "-json", "-covermode=set", "-coverprofile=" + profile}
	if o.Repeats > 1 {
		args = append(args, "-count="+strconv.Itoa(o.Repeats))
		rep.Repeats = o.Repeats
	}
	goTimeout, wall := TestTimeouts(o.Runner.Timeout, o.Runner.CompileTimeout)
	if goTimeout > 0 {
		// Go's own timeout fires first and names the hung test, leaving the
		// sandbox's kill for a hung build or a binary that ignores it.
		args = append(args, "-timeout="+goTimeout.String())
	}
	s, err := o.spec(dir, append(args, "./...")...)
	if err != nil {
		return rep, err
	}
	s.Timeout = wall
	s.ReadWrite = append(s.ReadWrite, outDir)
	// The JSON stream is parsed, so keep more of it than of a plain log.
	if o.Runner.OutputLimit == 0 {
		s.OutputLimit = 16 << 20
	}
	res, err := o.Runner.Run(ctx, s)
	if err != nil {
		return rep, err
	}
	rep.ApplyResult(res)
	rep.Log = check.TrimLog(humanLog(res.Stdout), check.LogLimit)

	p := parseTestJSON(o.treePath(dir), res.Stdout, modulePath)
	tests := p.tests
	rep.Tests = tests
	if res.TimedOut {
		// The sandbox stopped the command before Go's own alarm: name the
		// tests that were running instead of a bare "command timed out".
		rep.Findings = slices.DeleteFunc(rep.Findings, func(f check.Finding) bool { return f.Category == check.CategoryTimeout })
		limit := wall.String()
		if len(p.running) == 0 {
			why := "building the tests or starting them took the whole limit"
			if o.Runner.CompileTimeout > 0 {
				why = "building the tests or starting them took longer than the build limit of " + o.Runner.CompileTimeout.String()
			}
			rep.Findings = append(rep.Findings, check.Finding{Category: check.CategoryTimeout, Severity: check.SeverityError,
				Message: "the test command timed out after " + limit + " (" + why + ")"})
		}
		for _, k := range p.running {
			tests.Add(check.TestCase{Package: k.pkg, Name: k.name, Status: check.TestFailed})
			rep.Findings = append(rep.Findings, check.Finding{File: pkgDir(k.pkg, modulePath), Category: check.CategoryTimeout, Severity: check.SeverityError,
				Message: k.name + " timed out: the test command timed out after " + limit + " while it was running"})
		}
	}
	rep.Findings = append(rep.Findings, p.findings...)
	if tests.Total() == 0 && res.Success() {
		rep.Findings = append(rep.Findings, check.Finding{
			Category: check.CategoryNoTests, Severity: check.SeverityWarning, Message: "the module has no tests",
		})
	}
	if data, err := os.ReadFile(profile); err == nil {
		files, err := ParseCoverProfile(string(data), modulePath)
		if err == nil {
			rep.Coverage = check.NewCoverage(files, touchedPackages(o.Changed))
		}
	}
	rep.OK = res.Success() && tests.Failed == 0
	skip, onlyTests := failedTests(res, rep.Findings, tests)
	if !rep.OK {
		ensureFinding(&rep, "go test failed")
	}
	// A run whose only failures are failing tests still measures test
	// strength with those tests skipped: a repository with a test that
	// already fails at base would otherwise never have its change's tests
	// judged (the pipeline excuses failures the base already had).
	ran := tests.Total() > 0 && (rep.OK || onlyTests)
	if len(o.Criteria) > 0 && o.Repeats <= 1 && (rep.OK || onlyTests) {
		cases, findings, err := o.criteria(ctx, dir, modulePath, outDir)
		if err != nil {
			return rep, fmt.Errorf("acceptance criteria: %w", err)
		}
		for _, c := range cases {
			tests.Add(c)
			if c.Status == check.TestFailed {
				rep.OK = false
			}
		}
		rep.Findings = append(rep.Findings, findings...)
	}
	if o.Mutation != nil && ran {
		m, survivors, err := o.mutation(ctx, dir, modulePath, outDir, profile, res.Duration, skip)
		if err != nil {
			return rep, fmt.Errorf("mutation testing: %w", err)
		}
		rep.Mutation = m
		rep.Findings = append(rep.Findings, survivors...)
	}
	return rep, nil
}

// failedTests is a -skip pattern for the top-level tests that failed, and
// whether failing tests are all that went wrong (every package built, the run
// was not cut short).
func failedTests(res sandbox.Result, findings []check.Finding, tests *check.Tests) (skip string, only bool) {
	if !check.OnlyTestFailures(res, findings, tests) {
		return "", false
	}
	var names []string
	for _, c := range tests.Cases {
		if c.Status != check.TestFailed {
			continue
		}
		top, _, _ := strings.Cut(c.Name, "/")
		if q := regexp.QuoteMeta(top); !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return "^(" + strings.Join(names, "|") + ")$", true
}

// TestTimeouts are the -timeout given to go test and the wall-clock limit
// of the whole command, for a test limit and a build limit. Go's -timeout
// counts from a test binary's start, so the tests get the whole test limit
// and the command gets the build limit on top of it for compiling them (and
// for the alarm's own report). Without a build limit the two share the test
// limit: a fifth of it (at most 20 s) is left for building.
func TestTimeouts(test, build time.Duration) (goTimeout, wall time.Duration) {
	if test <= 0 {
		return 0, 0
	}
	if build <= 0 {
		return GoTestTimeout(test), test
	}
	return test, test + build
}

// GoTestTimeout is the -timeout given to go test within a command limit of
// limit when building the tests has no limit of its own: a fifth of it (at
// most 20 s) is left for building the tests and for the alarm's own report.
func GoTestTimeout(limit time.Duration) time.Duration {
	return limit - min(20*time.Second, limit/5)
}

// touchedPackages selects files in the directories of changed Go files.
func touchedPackages(changed []string) func(string) bool {
	dirs := map[string]bool{}
	for _, c := range changed {
		if strings.HasSuffix(c, ".go") {
			dirs[path.Dir(path.Clean(c))] = true
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	return func(file string) bool { return dirs[path.Dir(file)] }
}

// humanLog turns a test2json stream back into the text `go test` would have printed, which
// is what a model refining its code should read.
func humanLog(stream string) string {
	var b strings.Builder
	for _, line := range strings.Split(stream, "\n") {
		if !strings.HasPrefix(line, "{") {
			if line != "" {
				b.WriteString(line + "\n")
			}
			continue
		}
		if m := outputRe.FindStringSubmatch(line); m != nil {
			if out := unquote(m[1]); !noise(out) {
				b.WriteString(out)
			}
		}
	}
	return b.String()
}

// noise is what a passing run prints per test: kept out of the log so that
// the failures' own lines fit in it.
func noise(line string) bool {
	l := strings.TrimLeft(line, " ")
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- PASS:", "--- SKIP:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

var outputRe = regexp.MustCompile(`"Output":("(?:[^"\\]|\\.)*")`)

func unquote(s string) string {
	var out string
	if err := jsonUnmarshalString(s, &out); err != nil {
		return ""
	}
	return out
}

var moduleRe = regexp.MustCompile(`(?m)^module\s+"?([^\s"]+)"?`)

// ModulePath reads the module path from dir/go.mod.
func ModulePath(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	m := moduleRe.FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("go.mod in %s has no module line", dir)
	}
	return string(m[1]), nil
}

// Spec is the sandbox specification Go commands run under (toolchain, module
// cache read-only, build cache, no network): the base for a project's own
// commands. A project's commands see the tree at its own path (their output
// is read as it is).
func (o Options) Spec(dir string, args ...string) (sandbox.Spec, error) {
	s, err := o.spec(dir, args...)
	s.MountAt = ""
	return s, err
}
