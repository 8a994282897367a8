package gocheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/criteria"
)

// criteriaFile is the name the examples' test file takes in each package,
// through the overlay only.
const criteriaFile = "moose_acceptance_criteria_test.go"

// criteriaCompileError finds a compile error in an examples' file: the
// compiler names the overlay's file (criteria-<i>_test.go in the output dir).
var criteriaCompileError = regexp.MustCompile(`criteria-(\d+)_test\.go:(\d+):\d+: `)

// declared is where a changed file declares a top-level function.
type declared struct {
	dir, pkg, file string
}

// criteria runs the work order's acceptance criteria that are executable
// examples (package criteria) against the tree: one test file per package
// declaring a called function, added through a -overlay (the tree is never
// written), run with only those tests. Examples that do not compile against
// the proposal are dropped as not checkable. It returns a test case per
// example that ran, and findings: one per example that does not hold, and a
// note of what was checked.
func (o Options) criteria(ctx context.Context, dir, modulePath, outDir string) ([]check.TestCase, []check.Finding, error) {
	where := map[string]declared{}
	ambiguous := map[string]bool{}
	var funcs []string
	for _, rel := range o.Changed {
		rel = path.Clean(rel)
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		pkg, fs := criteria.GoFuncs(src)
		for _, f := range fs {
			d := declared{dir: path.Dir(rel), pkg: pkg, file: rel}
			if prev, ok := where[f]; ok && prev.dir != d.dir {
				ambiguous[f] = true
			}
			where[f] = d
			funcs = append(funcs, f)
		}
	}
	funcs = slices.DeleteFunc(funcs, func(f string) bool { return ambiguous[f] })
	examples := criteria.Go(o.Criteria, funcs)
	if len(examples) == 0 {
		return nil, nil, nil
	}
	var dropped []string
	for try := 0; try < 3 && len(examples) > 0; try++ {
		out, failed, err := o.runCriteria(ctx, dir, outDir, where, examples)
		if err != nil {
			return nil, nil, err
		}
		if len(failed) == 0 {
			cases, findings := criteriaResults(out, examples, where, modulePath, dropped)
			return cases, findings, nil
		}
		// Drop the examples that did not compile and try the rest again.
		examples = slices.DeleteFunc(examples, func(e criteria.Example) bool {
			if failed[e.N] {
				dropped = append(dropped, strconv.Itoa(e.N))
			}
			return failed[e.N]
		})
	}
	return nil, []check.Finding{criteria.NotChecked("could not be compiled as tests against this change")}, nil
}

// runCriteria runs examples once. failed names the examples a compile error
// points into; out is the test2json stream.
func (o Options) runCriteria(ctx context.Context, dir, outDir string, where map[string]declared, examples []criteria.Example) (string, map[int]bool, error) {
	byDir := map[string][]criteria.Example{}
	var dirs []string
	for _, e := range examples {
		d := where[e.Func].dir
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], e)
	}
	replace := map[string]string{}
	srcs := map[int][]byte{}
	var pkgs []string
	for i, d := range dirs {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d), criteriaFile)); err == nil {
			continue // the project has a file of that name: leave that package out
		}
		src := criteria.GoTestFile(where[byDir[d][0].Func].pkg, byDir[d])
		file := filepath.Join(outDir, fmt.Sprintf("criteria-%d_test.go", i))
		if err := os.WriteFile(file, src, 0o644); err != nil {
			return "", nil, fmt.Errorf("write criteria tests: %w", err)
		}
		abs, err := filepath.Abs(filepath.Join(o.treePath(dir), filepath.FromSlash(d), criteriaFile))
		if err != nil {
			return "", nil, err
		}
		replace[abs], srcs[i] = file, src
		pkgs = append(pkgs, "./"+d)
	}
	if len(pkgs) == 0 {
		return "", nil, nil
	}
	overlay := filepath.Join(outDir, "criteria-overlay.json")
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": replace})
	if err := os.WriteFile(overlay, ov, 0o644); err != nil {
		return "", nil, fmt.Errorf("write overlay: %w", err)
	}
	args := []string{"go", "test", "-json", "-count=1", "-overlay=" + overlay, "-run=^TestMooseCriterion[0-9]+$"}
	goTimeout, wall := TestTimeouts(o.Runner.Timeout, o.Runner.CompileTimeout)
	if goTimeout > 0 {
		args = append(args, "-timeout="+goTimeout.String())
	}
	s, err := o.spec(dir, append(args, pkgs...)...)
	if err != nil {
		return "", nil, err
	}
	s.Timeout = wall
	s.ReadWrite = append(s.ReadWrite, outDir)
	s.OutputLimit = 1 << 20
	r, err := o.Runner.Run(ctx, s)
	if err != nil {
		return "", nil, err
	}
	out := r.Output()
	failed := map[int]bool{}
	for _, m := range criteriaCompileError.FindAllStringSubmatch(out, -1) {
		i, _ := strconv.Atoi(m[1])
		line, _ := strconv.Atoi(m[2])
		if n := criteria.GoExampleAt(srcs[i], line); n > 0 {
			failed[n] = true
		}
	}
	if len(failed) == 0 && strings.Contains(out, "[build failed]") {
		// A build failure that names no example: none can be judged.
		for _, e := range examples {
			failed[e.N] = true
		}
	}
	return out, failed, nil
}

// criteriaResults reads the examples' run.
func criteriaResults(out string, examples []criteria.Example, where map[string]declared, modulePath string, dropped []string) ([]check.TestCase, []check.Finding) {
	type result struct {
		ran, passed bool
		output      strings.Builder
	}
	results := map[string]*result{}
	for _, line := range strings.Split(out, "\n") {
		var ev testEvent
		if json.Unmarshal([]byte(line), &ev) != nil || !strings.HasPrefix(ev.Test, "TestMooseCriterion") {
			continue
		}
		r := results[ev.Test]
		if r == nil {
			r = &result{}
			results[ev.Test] = r
		}
		switch ev.Action {
		case "pass":
			r.ran, r.passed = true, true
		case "fail":
			r.ran = true
		case "output":
			r.output.WriteString(ev.Output)
		}
	}
	var cases []check.TestCase
	var findings []check.Finding
	held, checked := 0, 0
	for _, e := range examples {
		r := results[criteria.GoTestName(e.N)]
		if r == nil || !r.ran {
			continue
		}
		checked++
		d := where[e.Func]
		c := check.TestCase{Package: path.Join(modulePath, d.dir), Name: criteria.GoTestName(e.N), Status: check.TestPassed}
		if r.passed {
			held++
			cases = append(cases, c)
			continue
		}
		var detail string
		for _, l := range strings.Split(r.output.String(), "\n") {
			if _, after, ok := strings.Cut(l, "does not hold: "); ok {
				detail = strings.TrimSpace(after)
				break
			}
			if strings.HasPrefix(strings.TrimSpace(l), "panic:") {
				detail = strings.TrimSpace(l)
				break
			}
		}
		f := criteria.Failed(e, d.file, detail)
		c.Status, c.Output = check.TestFailed, f.Message
		cases = append(cases, c)
		findings = append(findings, f)
	}
	if checked > 0 {
		var unchecked string
		if len(dropped) > 0 {
			unchecked = fmt.Sprintf("criteria %s do not compile against this change and were not checked", strings.Join(dropped, ", "))
		}
		findings = append(findings, criteria.Checked(held, checked, unchecked))
	}
	return cases, findings
}
