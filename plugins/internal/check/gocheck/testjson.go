package gocheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
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
// one per failing leaf test, one per package that failed outside any test (panic in init,
// TestMain, timeout), and parsed compiler errors of packages that did not build.
func ParseTestJSON(dir, out, modulePath string) (*check.Tests, []check.Finding) {
	tests := &check.Tests{}
	outputs := map[testKey]*strings.Builder{}
	buildOut := map[string]*strings.Builder{}
	var buildOrder []string
	failedTests := map[string][]string{} // package -> failed test names
	type pkgFail struct{ pkg, output string }
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
			b.WriteString(ev.Output)
			continue
		case "build-fail":
			continue
		}
		key := testKey{ev.Package, ev.Test}
		switch ev.Action {
		case "output":
			b := outputs[key]
			if b == nil {
				b = &strings.Builder{}
				outputs[key] = b
			}
			// Bounded: a test printing in a loop must not grow this without limit.
			if b.Len() < 4*FailureOutputLimit {
				b.WriteString(ev.Output)
			}
		case "pass", "fail", "skip":
			if ev.Test == "" {
				if ev.Action == "fail" && ev.FailedBuild == "" && len(failedTests[ev.Package]) == 0 {
					pkgFails = append(pkgFails, pkgFail{ev.Package, stringOf(outputs[key])})
				}
				continue
			}
			c := check.TestCase{
				Package:  ev.Package,
				Name:     ev.Test,
				Status:   check.TestStatus(ev.Action),
				Duration: time.Duration(ev.Elapsed * float64(time.Second)),
			}
			if ev.Action == "fail" {
				c.Output = check.TrimLog(stringOf(outputs[key]), FailureOutputLimit)
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
		findings = append(findings, testFinding(pkgDir(c.Package, modulePath), c))
	}
	for _, pf := range pkgFails {
		findings = append(findings, check.Finding{
			File:     pkgDir(pf.pkg, modulePath),
			Category: check.CategoryTestFailure,
			Severity: check.SeverityError,
			Message:  fmt.Sprintf("package %s failed outside any test:\n%s", pf.pkg, check.TrimLog(strings.TrimSpace(pf.output), 2048)),
		})
	}
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].File < findings[j].File })
	return tests, dedupe(findings)
}

func stringOf(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	return b.String()
}

func hasFailedChild(failed []string, name string) bool {
	for _, f := range failed {
		if strings.HasPrefix(f, name+"/") {
			return true
		}
	}
	return false
}

// testFinding locates a failing test at the first "file.go:N: message" line it printed.
func testFinding(dir string, c check.TestCase) check.Finding {
	f := check.Finding{
		File:     dir,
		Category: check.CategoryTestFailure,
		Severity: check.SeverityError,
		Message:  c.Name + " failed",
	}
	for _, line := range strings.Split(c.Output, "\n") {
		m := failLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		f.File = path.Join(dir, m[1])
		f.Line, _ = strconv.Atoi(m[2])
		f.Message = c.Name + ": " + m[3]
		break
	}
	if strings.Contains(c.Output, "panic: ") {
		f.Message += " (panicked)"
	}
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
