// Package jscheck is the TypeScript/JavaScript (npm) preset of Moose's validators.
//
// Build runs `tsc --noEmit` when the project has a tsconfig.json and then the package's
// `build` script when it has one; Test runs vitest or jest (whichever is installed) with
// machine-readable reporters and a json-summary coverage report when a coverage provider is
// installed, or falls back to `npm test` and its exit code. Everything runs in the sandbox
// without network: dependencies must have been installed beforehand (check.InstallDeps),
// and npm runs with offline settings so it never tries to reach a registry.
package jscheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// Options configure a JavaScript/TypeScript validation.
type Options struct {
	// Runner runs the commands (sandboxed unless the operator opted out).
	Runner check.Runner
	// Changed lists the worktree-relative paths the change touched; it scopes coverage and
	// TestsChanged. Empty means the whole project.
	Changed []string
	// Mutation, when set, makes Test measure test strength after a passing
	// run (see package mutate).
	Mutation *check.MutationOptions
	// Criteria are the work order's acceptance criteria: after a run that
	// loaded, Test runs those that are executable examples of the changed
	// modules' exported functions (package criteria) beside the tests.
	Criteria []string
}

// ErrNoPackageJSON means the worktree is not an npm project.
var ErrNoPackageJSON = errors.New("no package.json")

// packageJSON is the part of package.json the preset reads.
type packageJSON struct {
	Scripts         map[string]string `json:"scripts"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

func readPackage(dir string) (packageJSON, error) {
	var p packageJSON
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if errors.Is(err, os.ErrNotExist) {
		return p, ErrNoPackageJSON
	}
	if err != nil {
		return p, fmt.Errorf("read package.json: %w", err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("parse package.json: %w", err)
	}
	return p, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (o Options) spec(dir string, args ...string) sandbox.Spec {
	s := sandbox.Spec{
		Dir:           dir,
		Args:          args,
		CombineOutput: true,
		Env: map[string]string{
			"npm_config_cache":           "/tmp/home/.npm",
			"npm_config_offline":         "true",
			"npm_config_update_notifier": "false",
			"npm_config_fund":            "false",
			"npm_config_audit":           "false",
			"CI":                         "true",
			"NO_COLOR":                   "1",
			"FORCE_COLOR":                "0",
		},
	}
	// A node outside /usr (nvm, a tarball in /opt) must be bound in and put on the PATH.
	if node, err := exec.LookPath("node"); err == nil {
		if real, err := filepath.EvalSymlinks(node); err == nil && !strings.HasPrefix(real, "/usr/") {
			bin := filepath.Dir(real)
			s.ReadOnly = append(s.ReadOnly, filepath.Dir(bin))
			s.Env["PATH"] = bin + ":" + sandbox.DefaultPath
		}
	}
	return s
}

// Build type-checks and builds the project. Report.OK is true when every step that applies
// succeeded (a project with neither a tsconfig.json nor a build script passes trivially).
func Build(ctx context.Context, dir string, o Options) (check.Report, error) {
	rep := check.Report{TestsChanged: check.TouchesTests(o.Changed)}
	pkg, err := readPackage(dir)
	if err != nil {
		return rep, err
	}
	rep.OK = true
	if exists(filepath.Join(dir, "tsconfig.json")) {
		tsc := filepath.Join(dir, "node_modules", ".bin", "tsc")
		if !exists(tsc) {
			rep.OK = false
			rep.Findings = append(rep.Findings, check.Finding{File: "package.json", Category: check.CategoryMissingDependency,
				Severity: check.SeverityError, Message: "tsconfig.json present but typescript is not installed (node_modules/.bin/tsc missing)"})
			return rep, nil
		}
		res, err := o.Runner.Run(ctx, o.spec(dir, tsc, "--noEmit", "--pretty", "false"))
		if err != nil {
			return rep, err
		}
		rep.ApplyResult(res)
		rep.Findings = append(rep.Findings, ParseTSC(dir, res.Stdout)...)
		if !res.Success() {
			rep.OK = false
			ensureFinding(&rep, "tsc --noEmit failed")
			return rep, nil
		}
	}
	if _, ok := pkg.Scripts["build"]; ok {
		res, err := o.Runner.Run(ctx, o.spec(dir, "npm", "run", "build"))
		if err != nil {
			return rep, err
		}
		rep.ApplyResult(res)
		rep.Findings = dedupe(append(rep.Findings, ParseTSC(dir, res.Stdout)...))
		if !res.Success() {
			rep.OK = false
			ensureFinding(&rep, "npm run build failed")
		}
	}
	return rep, nil
}

func ensureFinding(rep *check.Report, msg string) {
	if len(rep.Findings) > 0 {
		return
	}
	rep.Findings = append(rep.Findings, check.Finding{
		Category: check.CategoryBuildError, Severity: check.SeverityError,
		Message: msg + ": " + check.TrimLog(strings.TrimSpace(rep.Log), 2048),
	})
}

// Runner names, as detected by Test.
const (
	RunnerVitest  = "vitest"
	RunnerJest    = "jest"
	RunnerNpmTest = "npm-test"
)

// DetectTestRunner says how Test would run the project's tests: vitest or jest when
// installed, else the package's test script, else "".
func DetectTestRunner(dir string) (string, error) {
	pkg, err := readPackage(dir)
	if err != nil {
		return "", err
	}
	switch {
	case exists(filepath.Join(dir, "node_modules", ".bin", "vitest")):
		return RunnerVitest, nil
	case exists(filepath.Join(dir, "node_modules", ".bin", "jest")):
		return RunnerJest, nil
	case pkg.Scripts["test"] != "":
		return RunnerNpmTest, nil
	}
	return "", nil
}

// Test runs the project's tests.
func Test(ctx context.Context, dir string, o Options) (check.Report, error) {
	rep := check.Report{TestsChanged: check.TouchesTests(o.Changed)}
	runner, err := DetectTestRunner(dir)
	if err != nil {
		return rep, err
	}
	if runner == "" {
		rep.Tests = &check.Tests{}
		rep.Findings = append(rep.Findings, check.Finding{File: "package.json", Category: check.CategoryNoTests,
			Severity: check.SeverityError, Message: "no test runner installed and no test script"})
		return rep, nil
	}
	// Reports are written outside the worktree so they never end up in a commit.
	outDir, err := os.MkdirTemp("", "moose-jscheck-")
	if err != nil {
		return rep, fmt.Errorf("create report dir: %w", err)
	}
	defer os.RemoveAll(outDir)
	results := filepath.Join(outDir, "results.json")
	coverDir := filepath.Join(outDir, "coverage")
	bin := func(name string) string { return filepath.Join(dir, "node_modules", ".bin", name) }

	var args []string
	switch runner {
	case RunnerVitest:
		args = []string{bin("vitest"), "run", "--reporter=default", "--reporter=json", "--outputFile.json=" + results}
		if exists(filepath.Join(dir, "node_modules", "@vitest", "coverage-v8")) {
			args = append(args, "--coverage.enabled=true", "--coverage.provider=v8",
				"--coverage.reporter=json-summary", "--coverage.reportsDirectory="+coverDir)
		} else if exists(filepath.Join(dir, "node_modules", "@vitest", "coverage-istanbul")) {
			args = append(args, "--coverage.enabled=true", "--coverage.provider=istanbul",
				"--coverage.reporter=json-summary", "--coverage.reportsDirectory="+coverDir)
		}
	case RunnerJest:
		args = []string{bin("jest"), "--ci", "--json", "--outputFile=" + results,
			"--coverage", "--coverageReporters=json-summary", "--coverageDirectory=" + coverDir}
	case RunnerNpmTest:
		args = []string{"npm", "test"}
	}
	s := o.spec(dir, args...)
	s.ReadWrite = append(s.ReadWrite, outDir)
	if s.Env["NODE_OPTIONS"], err = writeAssertPreload(outDir, s.Env["NODE_OPTIONS"]); err != nil {
		return rep, err
	}
	res, err := o.Runner.Run(ctx, s)
	if err != nil {
		return rep, err
	}
	rep.ApplyResult(res)
	asserts := assertionFindings(res.Output())

	rep.Tests = &check.Tests{}
	if data, err := os.ReadFile(results); err == nil {
		tests, findings, keys, err := parseResults(dir, data)
		if err != nil {
			return rep, err
		}
		withDiffs(findings, keys, reportDiffs(dir, res.Output()))
		rep.Tests = tests
		rep.Findings = append(rep.Findings, findings...)
	}
	if data, err := os.ReadFile(filepath.Join(coverDir, "coverage-summary.json")); err == nil {
		files, err := ParseCoverageSummary(dir, data)
		if err != nil {
			return rep, err
		}
		rep.Coverage = check.NewCoverage(files, touchedFiles(o.Changed))
	}
	rep.OK = res.Success() && rep.Tests.Failed == 0
	if rep.OK && len(asserts) > 0 {
		// The runner reported success, but an assertion failed: not proven.
		rep.OK = false
	}
	rep.Findings = append(rep.Findings, asserts...)
	if runner != RunnerNpmTest && rep.Tests.Total() == 0 && res.Success() {
		rep.Findings = append(rep.Findings, check.Finding{Category: check.CategoryNoTests,
			Severity: check.SeverityWarning, Message: "no tests ran"})
	}
	if !rep.OK && len(rep.Findings) == 0 {
		rep.Findings = append(rep.Findings, check.Finding{Category: check.CategoryTestFailure, Severity: check.SeverityError,
			Message: "tests failed: " + check.TrimLog(strings.TrimSpace(rep.Log), 2048)})
	}
	// A run whose only failures are failing tests (say, ones already broken
	// at base) still measures test strength, with those tests left out of
	// the mutants' runs (vitest -t, jest --testNamePattern; npm test cannot).
	skip, onlyTests := failedTests(res, rep.Findings, rep.Tests)
	ran := rep.Tests.Total() > 0 && (rep.OK || onlyTests && runner != RunnerNpmTest)
	if len(o.Criteria) > 0 && runner != RunnerNpmTest && (rep.OK || onlyTests) {
		cases, findings, err := o.criteria(ctx, dir, runner, s, outDir, rep.Tests)
		if err != nil {
			return rep, fmt.Errorf("acceptance criteria: %w", err)
		}
		for _, c := range cases {
			rep.Tests.Add(c)
			if c.Status == check.TestFailed {
				rep.OK = false
			}
		}
		rep.Findings = append(rep.Findings, findings...)
	}
	if o.Mutation != nil && ran {
		m, survivors, err := o.mutation(ctx, dir, runner, s, rep.Coverage, res.Duration, skip)
		if err != nil {
			return rep, fmt.Errorf("mutation testing: %w", err)
		}
		rep.Mutation = m
		rep.Findings = append(rep.Findings, survivors...)
	}
	return rep, nil
}

// failedTests is a test-name pattern that leaves out the tests that failed
// (a full name ending in one of theirs), and whether failing tests are all
// that went wrong (every test file loaded, the run was not cut short).
func failedTests(res sandbox.Result, findings []check.Finding, tests *check.Tests) (skip string, only bool) {
	if !check.OnlyTestFailures(res, findings, tests) {
		return "", false
	}
	var names []string
	for _, c := range tests.Cases {
		if c.Status != check.TestFailed || c.Name == "" {
			continue
		}
		if q := regexp.QuoteMeta(c.Name); !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return "^(?!.*(?:" + strings.Join(names, "|") + ")$)", true
}

// touchedFiles selects changed non-test files.
func touchedFiles(changed []string) func(string) bool {
	set := map[string]bool{}
	for _, c := range changed {
		if !check.IsTestFile(c) {
			set[path.Clean(c)] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	return func(f string) bool { return set[f] }
}

// Spec is the sandbox specification npm tooling runs under: the base for a
// project's own commands.
func (o Options) Spec(dir string, args ...string) sandbox.Spec { return o.spec(dir, args...) }
