package gocheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/moosehq/moose/plugins/internal/check"
)

// testEvent is one line of `go test -json` (test2json), including the build events Go 1.24
// added.
type testEvent struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

// FailureOutputLimit is how much output of a failing test is kept.
const FailureOutputLimit = 8 << 10

type testKey struct{ pkg, name string }

// failLine matches the "    file_test.go:12: message" lines testing.T prints.
var failLine = regexp.MustCompile(`^\s+([^\s:]+\.go):(\d+): (.*)$`)

// ParseTestJSON reads `go test -json` output. modulePath maps import paths to directories
// (relative to the module root, which is the worktree). Lines that are not JSON (a
// truncation marker, stray stderr) are skipped. It returns per-test results and findings:
// one per failing leaf test, carrying its failure lines (testify's whole block), a panic's
// value and first project frame; one per test a -timeout expiry or a fatal error stopped
// (category timeout for the former), one per package that failed outside any test (panic
// in init, TestMain), and parsed compiler errors of packages that did not build.
func ParseTestJSON(dir, out, modulePath string) (*check.Tests, []check.Finding) {
	r := parseTestJSON(dir, out, modulePath)
	return r.tests, r.findings
}

// parsed is a test2json stream read: results, findings, and the tests that
// were still running when the stream ended (the command was killed).
type parsed struct {
	tests    *check.Tests
	findings []check.Finding
	running  []testKey
}

func parseTestJSON(dir, out, modulePath string) parsed {
	tests := &check.Tests{}
	proj := project{dir: dir, module: modulePath}
	outputs := map[testKey]*check.HeadTail{}
	buildOut := map[string]*strings.Builder{}
	var buildOrder []string
	failedTests := map[string][]string{} // package -> failed test names
	running := map[testKey]bool{}
	var runOrder []testKey
	ended := map[string]bool{} // packages with a final pass/fail
	type pkgFail struct {
		pkg, output string
		stopped     []string // tests running when the binary died
	}
	var pkgFails []pkgFail
	var findings []check.Finding

	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var ev testEvent
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		switch ev.Action {
		case "build-output":
			b := buildOut[ev.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				buildOut[ev.ImportPath] = b
				buildOrder = append(buildOrder, ev.ImportPath)
			}
			if b.Len() < 1<<20 {
				b.WriteString(ev.Output)
			}
			continue
		case "build-fail":
			continue
		}
		key := testKey{ev.Package, ev.Test}
		switch ev.Action {
		case "run":
			if ev.Test != "" && !running[key] {
				running[key] = true
				runOrder = append(runOrder, key)
			}
		case "output":
			b := outputs[key]
			if b == nil {
				// Bounded, head and tail: a test printing in a loop must not grow
				// this without limit, and its failure is usually at its end.
				b = check.NewHeadTail(4 * FailureOutputLimit)
				outputs[key] = b
			}
			b.WriteString(ev.Output)
		case "pass", "fail", "skip":
			if ev.Test == "" {
				ended[ev.Package] = true
				var stopped []string
				for _, k := range runOrder {
					if k.pkg == ev.Package && running[k] {
						stopped = append(stopped, k.name)
						delete(running, k)
					}
				}
				if ev.Action == "fail" && ev.FailedBuild == "" && (len(failedTests[ev.Package]) == 0 || len(stopped) > 0) {
					pkgFails = append(pkgFails, pkgFail{ev.Package, outputs[key].String(), stopped})
				}
				continue
			}
			delete(running, key)
			c := check.TestCase{
				Package:  ev.Package,
				Name:     ev.Test,
				Status:   check.TestStatus(ev.Action),
				Duration: time.Duration(ev.Elapsed * float64(time.Second)),
			}
			if ev.Action == "fail" {
				c.Output = outputs[key].String()
				failedTests[ev.Package] = append(failedTests[ev.Package], ev.Test)
			}
			tests.Add(c)
		}
	}

	for _, ip := range buildOrder {
		findings = append(findings, ParseCompilerOutput(dir, buildOut[ip].String(), check.CategoryTypeError)...)
	}
	for _, c := range tests.Cases {
		if c.Status != check.TestFailed || hasFailedChild(failedTests[c.Package], c.Name) {
			continue
		}
		findings = append(findings, testFinding(proj, pkgDir(c.Package, modulePath), c))
	}
	for _, pf := range pkgFails {
		dirOf := pkgDir(pf.pkg, modulePath)
		if len(pf.stopped) == 0 {
			f := check.Finding{File: dirOf, Category: check.CategoryTestFailure, Severity: check.SeverityError}
			if cr, ok := proj.analyse(pf.output, ""); ok {
				cr.locate(&f)
				f.Category = cr.category()
				f.Message = cr.message("", pf.pkg) + "\n" + check.TrimLog(strings.TrimSpace(pf.output), 2048)
			} else {
				f.Message = fmt.Sprintf("package %s failed outside any test:\n%s", pf.pkg, check.TrimLog(strings.TrimSpace(pf.output), 2048))
			}
			f.Message = boundMessage(f.Message)
			findings = append(findings, f)
			continue
		}
		// The binary died while these tests ran (a -timeout expiry, a fatal
		// error, a panic in a goroutine): each leaf is a failed test.
		for _, name := range pf.stopped {
			if hasChild(pf.stopped, name) {
				continue
			}
			own := outputs[testKey{pf.pkg, name}].String()
			all := own + "\n" + pf.output
			for _, other := range pf.stopped {
				if other != name {
					all += "\n" + outputs[testKey{pf.pkg, other}].String()
				}
			}
			c := check.TestCase{Package: pf.pkg, Name: name, Status: check.TestFailed, Output: check.TrimLog(own, 4*FailureOutputLimit)}
			tests.Add(c)
			f := check.Finding{File: dirOf, Category: check.CategoryTestFailure, Severity: check.SeverityError,
				Message: name + " did not finish: the test binary exited"}
			if cr, ok := proj.analyse(all, name); ok {
				if cr.kind == "timeout" && len(cr.running) > 0 && !slices.Contains(cr.running, name) {
					continue // the alarm names the hung tests; a parent waiting on them is not one
				}
				if cr.kind == "timeout" {
					cr.frames = proj.hung(all, name)
				}
				cr.locate(&f)
				f.Category = cr.category()
				f.Message = cr.message(name, pf.pkg)
			}
			if blocks := failureBlocks(own, relativiser(dir)); len(blocks) > 0 {
				f.Message += "\nbefore that it reported:\n" + renderBlocks(blocks)
			}
			f.Message = boundMessage(f.Message)
			findings = append(findings, f)
		}
	}
	var still []testKey
	for _, k := range runOrder {
		if running[k] && !ended[k.pkg] && !hasChildKey(runOrder, running, k) {
			still = append(still, k)
		}
	}
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].File < findings[j].File })
	return parsed{tests: tests, findings: dedupe(findings), running: still}
}

// hasChild reports whether names holds a subtest of name.
func hasChild(names []string, name string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, name+"/") {
			return true
		}
	}
	return false
}

func hasChildKey(order []testKey, running map[testKey]bool, k testKey) bool {
	for _, o := range order {
		if o.pkg == k.pkg && running[o] && strings.HasPrefix(o.name, k.name+"/") {
			return true
		}
	}
	return false
}

// renderBlocks lists failure blocks: all of a few, the first and the last
// of many (a test that logs in a loop).
func renderBlocks(bs []block) string {
	var parts []string
	for i, b := range bs {
		if len(bs) > 8 && i == 2 {
			parts = append(parts, fmt.Sprintf("... %d more lines ...", len(bs)-7))
		}
		if len(bs) > 8 && i >= 2 && i < len(bs)-5 {
			continue
		}
		parts = append(parts, b.render())
	}
	return strings.Join(parts, "\n")
}

// lead is the block a finding is located at: the first testify assertion,
// else the last line the test printed (t.Log and t.Error print alike, and a
// test's failure is most often what it printed last).
func lead(bs []block) block {
	for _, b := range bs {
		if b.testifyError() != "" {
			return b
		}
	}
	return bs[len(bs)-1]
}

func hasFailedChild(failed []string, name string) bool {
	for _, f := range failed {
		if strings.HasPrefix(f, name+"/") {
			return true
		}
	}
	return false
}

// testFinding locates a failing test at the first "file.go:N: message" line it printed
// and carries every failure block it printed; a panic is located at its first frame in
// the project instead, and says its value.
func testFinding(proj project, dir string, c check.TestCase) check.Finding {
	f := check.Finding{
		File:     dir,
		Category: check.CategoryTestFailure,
		Severity: check.SeverityError,
		Message:  c.Name + " failed",
	}
	blocks := failureBlocks(c.Output, relativiser(proj.dir))
	if len(blocks) > 0 {
		b := lead(blocks)
		f.File = path.Join(dir, b.file)
		f.Line = b.line
		f.Message = c.Name + ": " + b.summary()
		if len(b.body) > 0 || len(blocks) > 1 {
			f.Message += "\n" + renderBlocks(blocks)
		}
	}
	if cr, ok := proj.analyse(c.Output, c.Name); ok && cr.kind != "timeout" {
		// A panic says more than any line printed before it, and where it
		// happened is where to look.
		msg := cr.message(c.Name, c.Package)
		if len(blocks) > 0 {
			msg += "\nbefore that it reported:\n" + renderBlocks(blocks)
		}
		f.Message = msg
		if len(cr.frames) > 0 {
			cr.locate(&f)
		}
	}
	f.Message = boundMessage(f.Message)
	return f
}

// pkgDir maps an import path of the module to its directory relative to the module root.
func pkgDir(importPath, modulePath string) string {
	ip, _, _ := strings.Cut(importPath, " ")
	ip = strings.TrimSuffix(ip, "_test")
	if ip == modulePath {
		return "."
	}
	if modulePath != "" && strings.HasPrefix(ip, modulePath+"/") {
		return strings.TrimPrefix(ip, modulePath+"/")
	}
	return ip
}

func dedupe(fs []check.Finding) []check.Finding {
	seen := map[check.Finding]bool{}
	out := fs[:0]
	for _, f := range fs {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func jsonUnmarshalString(s string, out *string) error { return json.Unmarshal([]byte(s), out) }
