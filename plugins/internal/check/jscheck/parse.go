package jscheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moosehq/moose/plugins/internal/check"
)

// tscLine matches `file(line,col): error TSxxxx: message` (tsc with --pretty false).
var tscLine = regexp.MustCompile(`^(.+?)\((\d+),(\d+)\): (error|warning) TS(\d+): (.*)$`)

var cannotFindName = regexp.MustCompile(`^Cannot find name '([^']+)'`)
var cannotFindModule = regexp.MustCompile(`^Cannot find module '([^']+)'`)

// needsImport are names whose "Cannot find name" means a forgotten import: test globals and
// Node built-in modules.
var needsImport = map[string]bool{
	"describe": true, "it": true, "test": true, "expect": true, "vi": true, "beforeEach": true,
	"afterEach": true, "beforeAll": true, "afterAll": true, "fs": true, "path": true, "os": true,
	"crypto": true, "util": true, "assert": true, "readline": true, "child_process": true,
	"http": true, "https": true, "url": true, "zlib": true, "stream": true, "events": true,
}

// ParseTSC turns TypeScript compiler output into findings.
func ParseTSC(dir, out string) []check.Finding {
	var fs []check.Finding
	last := -1
	for _, raw := range strings.Split(out, "\n") {
		line := strings.TrimRight(raw, "\r")
		m := tscLine.FindStringSubmatch(line)
		if m == nil {
			if last >= 0 && strings.HasPrefix(line, "  ") && strings.TrimSpace(line) != "" {
				fs[last].Message += "\n" + strings.TrimSpace(line)
			} else {
				last = -1
			}
			continue
		}
		ln, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		code, _ := strconv.Atoi(m[5])
		sev := check.SeverityError
		if m[4] == "warning" {
			sev = check.SeverityWarning
		}
		fs = append(fs, check.Finding{
			File: check.RelPath(dir, m[1]), Line: ln, Column: col,
			Category: classifyTS(code, m[6]), Severity: sev,
			Message: "TS" + m[5] + ": " + m[6],
		})
		last = len(fs) - 1
	}
	return dedupe(fs)
}

func classifyTS(code int, msg string) string {
	switch {
	case code >= 1000 && code < 2000:
		return check.CategorySyntaxError
	case code == 2304 || code == 2552 || code == 2582 || code == 2593:
		if m := cannotFindName.FindStringSubmatch(msg); m != nil && needsImport[m[1]] {
			return check.CategoryMissingImport
		}
		// 2582/2593 are "Cannot find name 'describe'/'test'... install type definitions".
		if code == 2582 || code == 2593 {
			return check.CategoryMissingImport
		}
		return check.CategoryUndefinedSymbol
	case code == 2339 || code == 2551 || code == 2305 || code == 2724 || code == 2614 || code == 2694:
		return check.CategoryUndefinedSymbol
	case code == 2307 || code == 2792:
		if m := cannotFindModule.FindStringSubmatch(msg); m != nil && strings.HasPrefix(m[1], ".") {
			return check.CategoryMissingImport
		}
		return check.CategoryMissingDependency
	case code == 6192:
		return check.CategoryUnusedImport
	case code == 6133 || code == 6196 || code == 6198:
		return check.CategoryUnusedVariable
	}
	return check.CategoryTypeError
}

// resultsJSON is the Jest-compatible report both jest --json and vitest's json reporter
// write.
type resultsJSON struct {
	TestResults []struct {
		Name             string `json:"name"`
		Status           string `json:"status"`
		Message          string `json:"message"`
		AssertionResults []struct {
			FullName        string   `json:"fullName"`
			Status          string   `json:"status"`
			Duration        *float64 `json:"duration"`
			FailureMessages []string `json:"failureMessages"`
			Location        *struct {
				Line   int `json:"line"`
				Column int `json:"column"`
			} `json:"location"`
		} `json:"assertionResults"`
	} `json:"testResults"`
}

// FailureOutputLimit is how much of a failing test's messages is kept.
const FailureOutputLimit = 8 << 10

var ansiRe = regexp.MustCompile("\x1b\\[[0-9;]*m")

// ParseResultsJSON reads a jest/vitest JSON report: per-test results, and findings for each
// failing test (located at the test file line its stack names) and each test file that
// failed to load.
func ParseResultsJSON(dir string, data []byte) (*check.Tests, []check.Finding, error) {
	tests, fs, _, err := parseResults(dir, data)
	return tests, fs, err
}

// parseResults is ParseResultsJSON that also says, for each finding, which
// test it is ("file > full name"; empty for a file that did not load), so
// that the runner's own report can add what its JSON leaves out.
func parseResults(dir string, data []byte) (*check.Tests, []check.Finding, []string, error) {
	var r resultsJSON
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, nil, fmt.Errorf("parse test results: %w", err)
	}
	tests := &check.Tests{}
	var fs []check.Finding
	var keys []string
	for _, file := range r.TestResults {
		rel := check.RelPath(dir, file.Name)
		if file.Status == "failed" && len(file.AssertionResults) == 0 {
			msg := strings.TrimSpace(ansiRe.ReplaceAllString(file.Message, ""))
			fs = append(fs, check.Finding{File: rel, Line: lineIn(msg, file.Name), Category: suiteCategory(msg),
				Severity: check.SeverityError, Message: "test file failed to run: " + check.TrimLog(msg, 2048)})
			keys = append(keys, "")
			continue
		}
		for _, a := range file.AssertionResults {
			c := check.TestCase{Package: rel, Name: a.FullName}
			if a.Duration != nil {
				c.Duration = time.Duration(*a.Duration * float64(time.Millisecond))
			}
			switch a.Status {
			case "passed":
				c.Status = check.TestPassed
			case "failed":
				c.Status = check.TestFailed
				c.Output = check.TrimLog(ansiRe.ReplaceAllString(strings.Join(a.FailureMessages, "\n"), ""), FailureOutputLimit)
			default: // skipped, pending, todo, disabled
				c.Status = check.TestSkipped
			}
			tests.Add(c)
			if c.Status != check.TestFailed {
				continue
			}
			f := check.Finding{File: rel, Category: check.CategoryTestFailure, Severity: check.SeverityError}
			head, frames := splitStack(dir, c.Output)
			f.Message = a.FullName + ": " + head
			f.Line = lineIn(c.Output, file.Name)
			if f.Line == 0 && a.Location != nil {
				f.Line, f.Column = a.Location.Line, a.Location.Column
			}
			if len(frames) > 0 {
				// Where it broke: the first frame in the project's own code
				// (the source under test when it threw, else the test).
				f.File, f.Line, f.Column = frames[0].file, frames[0].line, frames[0].col
				f.Message += renderFrames(frames)
			}
			f.Message = check.TrimLog(f.Message, MessageLimit)
			fs = append(fs, f)
			keys = append(keys, rel+" > "+a.FullName)
		}
	}
	return tests, fs, keys, nil
}

// MessageLimit bounds one finding's message.
const MessageLimit = 4 << 10

// jsFrame is one stack frame of the project's code.
type jsFrame struct {
	fn, file  string
	line, col int
}

// stackLine matches a V8 stack line: "at fn (path:line:col)" or "at path:line:col".
var stackLine = regexp.MustCompile(`^\s+at (?:(.+?) \()?(?:file://)?([^()\s]+):(\d+):(\d+)\)?$`)

// splitStack separates an error's text (its message, and jest's diff) from
// its stack, and returns the stack's frames in the project (not in
// node_modules, not node's own).
func splitStack(dir, msg string) (string, []jsFrame) {
	var head []string
	var frames []jsFrame
	inStack := false
	for _, l := range strings.Split(strings.TrimSpace(msg), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "at ") {
			inStack = true
			m := stackLine.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			rel := check.RelPath(dir, m[2])
			if strings.HasPrefix(rel, "..") || strings.HasPrefix(rel, "/") || strings.HasPrefix(rel, "node:") ||
				strings.Contains(rel, "node_modules/") {
				continue
			}
			n, _ := strconv.Atoi(m[3])
			col, _ := strconv.Atoi(m[4])
			frames = append(frames, jsFrame{fn: m[1], file: rel, line: n, col: col})
			continue
		}
		if !inStack {
			head = append(head, strings.TrimRight(l, " "))
		}
	}
	return strings.TrimSpace(strings.Join(head, "\n")), frames
}

func renderFrames(fs []jsFrame) string {
	var b strings.Builder
	for i, f := range fs {
		if i == 3 {
			break
		}
		prefix := "\n   "
		if i == 0 {
			prefix = "\nat "
		}
		b.WriteString(fmt.Sprintf("%s%s:%d:%d", prefix, f.file, f.line, f.col))
		if f.fn != "" {
			b.WriteString(" in " + f.fn)
		}
	}
	return b.String()
}

// reportDiffs reads vitest's default reporter output for each failed test's
// assertion diff ("- Expected / + Received" and the lines under it), which
// its JSON report leaves out. Keys are "file > full name" with the names
// joined by spaces, as in the JSON.
func reportDiffs(dir, out string) map[string]string {
	diffs := map[string]string{}
	lines := strings.Split(ansiRe.ReplaceAllString(out, ""), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r")
		rest, ok := strings.CutPrefix(strings.TrimLeft(l, " "), "FAIL  ")
		if !ok || !strings.Contains(rest, " > ") {
			continue
		}
		parts := strings.Split(rest, " > ")
		key := check.RelPath(dir, parts[0]) + " > " + strings.Join(parts[1:], " ")
		var diff []string
		in := false
		for j := i + 1; j < len(lines); j++ {
			t := strings.TrimRight(lines[j], "\r")
			if strings.HasPrefix(strings.TrimLeft(t, " "), "FAIL  ") || strings.HasPrefix(t, "⎯") ||
				strings.HasPrefix(strings.TrimSpace(t), "❯ ") {
				break
			}
			if strings.HasPrefix(t, "- Expected") {
				in = true
			}
			if in {
				diff = append(diff, t)
			}
		}
		if len(diff) > 0 {
			diffs[key] = strings.TrimSpace(strings.Join(diff, "\n"))
		}
	}
	return diffs
}

// withDiffs adds each failed test's assertion diff to its finding.
func withDiffs(fs []check.Finding, keys []string, diffs map[string]string) {
	for i := range fs {
		if i < len(keys) && keys[i] != "" {
			if d, ok := diffs[keys[i]]; ok && !strings.Contains(fs[i].Message, d) {
				head, frames, _ := strings.Cut(fs[i].Message, "\nat ")
				msg := head + "\n" + d
				if frames != "" {
					msg += "\nat " + frames
				}
				fs[i].Message = check.TrimLog(msg, MessageLimit)
			}
		}
	}
}

// lineIn finds the first "file:line:col" reference to file in a stack trace.
func lineIn(msg, file string) int {
	if file == "" {
		return 0
	}
	re := regexp.MustCompile(regexp.QuoteMeta(file) + `:(\d+):\d+`)
	if m := re.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func suiteCategory(msg string) string {
	switch {
	case strings.Contains(msg, "Failed to resolve import"), strings.Contains(msg, "Cannot find module"),
		strings.Contains(msg, "Failed to load url"):
		return check.CategoryMissingImport
	case strings.Contains(msg, "SyntaxError"), strings.Contains(msg, "Transform failed"),
		strings.Contains(msg, "Unexpected token"), strings.Contains(msg, "Expected "):
		return check.CategorySyntaxError
	}
	return check.CategoryTestBuildFailure
}

type coverageCounts struct {
	Total   int `json:"total"`
	Covered int `json:"covered"`
}

// ParseCoverageSummary reads an istanbul json-summary report (what vitest and jest write)
// into per-file statement coverage, files relative to dir.
func ParseCoverageSummary(dir string, data []byte) ([]check.FileCoverage, error) {
	var raw map[string]struct {
		Statements coverageCounts `json:"statements"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse coverage summary: %w", err)
	}
	var out []check.FileCoverage
	for name, c := range raw {
		if name == "total" {
			continue
		}
		out = append(out, check.FileCoverage{File: check.RelPath(dir, name), Covered: c.Statements.Covered, Total: c.Statements.Total})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
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
