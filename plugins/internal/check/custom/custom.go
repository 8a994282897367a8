// Package custom runs a project's own build, typecheck or test command (any
// shell command line, for any language) in the sandbox, and makes what it
// can of the output: success is exit status 0; "file:line[:col]: message"
// lines that name files of the worktree become findings; common test-runner
// summaries ("3 passed, 1 failed") become test counts. It is how Moose
// validates projects beyond its Go and TypeScript presets.
package custom

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// Run runs command with sh -c under base (its Dir is the worktree) and
// reports findings of category failCategory when it fails.
func Run(ctx context.Context, runner check.Runner, base sandbox.Spec, command, failCategory string) (check.Report, error) {
	s := base
	s.Args = []string{"sh", "-c", command}
	s.CombineOutput = true
	res, err := runner.Run(ctx, s)
	if err != nil {
		return check.Report{}, err
	}
	var rep check.Report
	rep.ApplyResult(res)
	out := res.Output()
	rep.Tests = ParseSummary(out)
	if res.Success() {
		rep.OK = true
		return rep, nil
	}
	rep.Findings = append(rep.Findings, ParseLocations(base.Dir, out, failCategory)...)
	if len(rep.Findings) == 0 {
		rep.Findings = append(rep.Findings, check.Finding{Category: failCategory, Severity: check.SeverityError,
			Message: "`" + command + "` failed (exit " + strconv.Itoa(res.ExitCode) + "): " + check.TrimLog(strings.TrimSpace(out), 2048)})
	}
	return rep, nil
}

// BaseSpec is a sandbox specification for a language without a preset: the
// worktree, the default PATH, a private HOME.
func BaseSpec(dir string) sandbox.Spec {
	return sandbox.Spec{Dir: dir, CombineOutput: true, Env: map[string]string{"PATH": sandbox.DefaultPath, "HOME": "/tmp/home", "NO_COLOR": "1"}}
}

// location matches "file:line:col: msg", "file(line,col): msg" and the
// shells' "file: line: msg" / "file: line N: msg".
var location = regexp.MustCompile(`(?m)^\s*(?:[A-Z]+:\s+)?([^\s:()"']+\.[A-Za-z0-9]+)(?:[:(]|:\s+(?:line\s+)?)(\d+)(?:[:,](\d+))?\)?:?\s*(.*)$`)

// ParseLocations turns "path:line[:col]: message" lines (gcc, clang, rustc's
// short form, mypy, flake8, eslint's unix format, tsc, javac, ...) that name an
// existing file of dir into findings.
func ParseLocations(dir, out, category string) []check.Finding {
	var fs []check.Finding
	seen := map[string]bool{}
	for _, m := range location.FindAllStringSubmatch(out, -1) {
		rel := check.RelPath(dir, m[1])
		if strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		msg := strings.TrimSpace(m[4])
		key := rel + ":" + m[2] + ":" + msg
		if seen[key] {
			continue
		}
		seen[key] = true
		fs = append(fs, check.Finding{File: rel, Line: line, Column: col, Category: category, Severity: check.SeverityError, Message: msg})
		if len(fs) >= 200 {
			break
		}
	}
	return fs
}

var (
	passedRe  = regexp.MustCompile(`(?i)\b(\d+)\s+(?:tests?\s+)?(?:passed|passing)\b`)
	failedRe  = regexp.MustCompile(`(?i)\b(\d+)\s+(?:tests?\s+)?(?:failed|failing|failures?)\b`)
	skippedRe = regexp.MustCompile(`(?i)\b(\d+)\s+(?:tests?\s+)?(?:skipped|pending)\b`)
)

// ParseSummary reads the last test-runner summary in out (pytest, jest,
// vitest, mocha, cargo, ...); nil when there is none.
func ParseSummary(out string) *check.Tests {
	last := func(re *regexp.Regexp) (int, bool) {
		ms := re.FindAllStringSubmatch(out, -1)
		if len(ms) == 0 {
			return 0, false
		}
		n, _ := strconv.Atoi(ms[len(ms)-1][1])
		return n, true
	}
	p, okP := last(passedRe)
	f, okF := last(failedRe)
	s, _ := last(skippedRe)
	if !okP && !okF {
		return nil
	}
	return &check.Tests{Passed: p, Failed: f, Skipped: s}
}
