package jscheck

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/criteria"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// jsSource: a file whose exported functions examples may call.
func jsSource(rel string) bool {
	switch path.Ext(rel) {
	case ".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs":
		return !check.IsTestFile(rel) && !strings.HasSuffix(rel, ".d.ts")
	}
	return false
}

// criteria runs the work order's acceptance criteria that are executable
// examples (package criteria) of the functions the change exports: one test
// file per module, written beside the project's tests (so the runner's
// include patterns find it), run alone and removed. Examples whose file
// does not load are not checked. It returns a test case per example that
// ran, and findings: one per example that does not hold, and a note of
// what was checked.
func (o Options) criteria(ctx context.Context, dir, runner string, base sandbox.Spec, outDir string, tests *check.Tests) ([]check.TestCase, []check.Finding, error) {
	where := map[string]string{}
	ambiguous := map[string]bool{}
	var funcs []string
	for _, rel := range o.Changed {
		rel = path.Clean(rel)
		if !jsSource(rel) {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		for _, f := range criteria.JSExports(string(src)) {
			if prev, ok := where[f]; ok && prev != rel {
				ambiguous[f] = true
			}
			where[f] = rel
			funcs = append(funcs, f)
		}
	}
	funcs = slices.DeleteFunc(funcs, func(f string) bool { return ambiguous[f] })
	examples := criteria.JS(o.Criteria, funcs)
	testDir, ext := criteriaHome(o.Changed, tests)
	if len(examples) == 0 || testDir == "" {
		return nil, nil, nil
	}
	byModule := map[string][]criteria.Example{}
	var modules []string
	for _, e := range examples {
		m := where[e.Func]
		if _, ok := byModule[m]; !ok {
			modules = append(modules, m)
		}
		byModule[m] = append(byModule[m], e)
	}
	var files []string
	defer func() {
		for _, f := range files {
			os.Remove(filepath.Join(dir, filepath.FromSlash(f)))
		}
	}()
	for i, m := range modules {
		rel := path.Join(testDir, fmt.Sprintf("moose-criteria-%d.test%s", i, ext))
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err == nil {
			continue // the project has a file of that name
		}
		spec, err := filepath.Rel(testDir, m)
		if err != nil {
			continue
		}
		spec = filepath.ToSlash(spec)
		if e := path.Ext(spec); e == ".ts" || e == ".tsx" || e == ".mts" || e == ".cts" {
			spec = strings.TrimSuffix(spec, e)
		}
		if !strings.HasPrefix(spec, ".") {
			spec = "./" + spec
		}
		src := criteria.JSTestFile(spec, runner == RunnerVitest, byModule[m])
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(rel)), []byte(src), 0o644); err != nil {
			return nil, nil, fmt.Errorf("write criteria tests: %w", err)
		}
		files = append(files, rel)
	}
	if len(files) == 0 {
		return nil, nil, nil
	}
	results := filepath.Join(outDir, "criteria.json")
	bin := func(name string) string { return filepath.Join(dir, "node_modules", ".bin", name) }
	s := base
	switch runner {
	case RunnerVitest:
		s.Args = append([]string{bin("vitest"), "run", "--reporter=json", "--outputFile.json=" + results}, files...)
	case RunnerJest:
		s.Args = append([]string{bin("jest"), "--ci", "--json", "--outputFile=" + results, "--runTestsByPath"}, files...)
	default:
		return nil, nil, nil
	}
	s.OutputLimit = 1 << 20
	if _, err := o.Runner.Run(ctx, s); err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(results)
	if err != nil {
		return nil, []check.Finding{criteria.NotChecked("could not be run as tests")}, nil
	}
	ran, _, _, err := parseResults(dir, data)
	if err != nil {
		return nil, nil, err
	}
	var cases []check.TestCase
	var findings []check.Finding
	held, checked := 0, 0
	for _, e := range examples {
		i := slices.IndexFunc(ran.Cases, func(c check.TestCase) bool { return c.Name == criteria.GoTestName(e.N) })
		if i < 0 || ran.Cases[i].Status == check.TestSkipped {
			continue
		}
		c := ran.Cases[i]
		checked++
		if c.Status == check.TestPassed {
			held++
			cases = append(cases, c)
			continue
		}
		var detail string
		if first, _, _ := strings.Cut(strings.TrimSpace(c.Output), "\n"); first != "" {
			detail = e.Call + ": " + first
		}
		f := criteria.Failed(e, where[e.Func], detail)
		c.Output = f.Message
		cases = append(cases, c)
		findings = append(findings, f)
	}
	if checked > 0 {
		var unchecked string
		if checked < len(examples) {
			unchecked = fmt.Sprintf("%d could not be run", len(examples)-checked)
		}
		findings = append(findings, criteria.Checked(held, checked, unchecked))
	}
	return cases, findings, nil
}

// criteriaHome is where the examples' test files go: the directory of a test
// file the change touched, else of one the run ran; and their extension.
func criteriaHome(changed []string, tests *check.Tests) (dir, ext string) {
	var candidates []string
	for _, rel := range changed {
		if check.IsTestFile(rel) {
			candidates = append(candidates, rel)
		}
	}
	if tests != nil {
		for _, c := range tests.Cases {
			candidates = append(candidates, c.Package)
		}
	}
	for _, rel := range candidates {
		rel = path.Clean(filepath.ToSlash(rel))
		if rel == "." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "node_modules/") {
			continue
		}
		ext := path.Ext(rel)
		switch ext {
		case ".ts", ".tsx", ".mts", ".cts":
			ext = ".ts"
		case ".js", ".jsx", ".mjs", ".cjs":
		default:
			continue
		}
		return path.Dir(rel), ext
	}
	return "", ""
}
