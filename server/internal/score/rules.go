package score

import (
	"fmt"
	"math"
	"path"
	"strings"
)

// Rule constants. doc.go explains each; change them together with its table.
const (
	fullCoverage       = 80.0 // coverage percent that earns 10
	unmeasuredCoverage = 6.0  // tests added and passing, coverage unknown
	noTestsCap         = 3.0
	failingTestsCap    = 2.0
	typecheckScore     = 3.0
	longLineLimit      = 120 // characters; documentation for LongLines
	oneFileLines       = 300
	hugeDiffLines      = 1000
)

// buildSuccess: did the project's own build and typecheck accept the change?
func buildSuccess(in Input) *sheet {
	s := newSheet()
	switch {
	case !in.BuildRan:
		s.set(0, "the build did not run")
	case !in.BuildPassed:
		s.set(0, "build failed%s", firstErrors(in.BuildFindings))
	case in.TypecheckRan && !in.TypecheckPassed:
		s.set(typecheckScore, "build passed but typecheck failed%s", firstErrors(in.BuildFindings))
	default:
		if in.TypecheckRan {
			s.note("build and typecheck passed")
		} else {
			s.note("build passed")
		}
		warn := bySeverity(in.BuildFindings, SeverityWarning)
		s.deduct(1, 3, len(warn), fmt.Sprintf("%s%s", plural(len(warn), "build warning"), colonList(warn, 3)))
	}
	return s
}

// testCoverage: is the change proven by tests that it added and that pass?
func testCoverage(in Input) *sheet {
	s := newSheet()
	switch {
	case !in.TestsRan:
		s.set(0, "the tests did not run")
		return s
	case in.TestsTotal == 0 && in.TestsFailed == 0 && !in.TestsSucceeded:
		s.set(0, "the test command failed before any test ran%s", firstErrors(in.TestFindings))
		return s
	case in.TestsTotal == 0 && in.TestsFailed == 0:
		s.set(0, "no tests ran")
		return s
	}
	if in.CoverageMeasured {
		s.set(clamp(in.Coverage/fullCoverage*10), "coverage %.1f%% of the changed code (%g%% earns 10)", in.Coverage, fullCoverage)
	} else {
		s.set(unmeasuredCoverage, "coverage not measured (scored %g)", unmeasuredCoverage)
	}
	if in.TestsFailed == 0 && in.TestsSucceeded {
		s.note("%d of %d tests passed", in.TestsPassed, in.TestsTotal)
	}
	if m := in.Mutation; m != nil {
		if ms, ok := m.score(); ok {
			s.rules = (s.rules + 10*ms) / 2
			s.note("mutation score %.2f: %d of %d mutants killed (averaged with coverage: %.1f)", ms, m.Killed, m.Run, s.rules)
			if n := len(m.Survivors); n > 0 {
				s.note("%s%s", plural(n, "surviving mutant"), colonList(m.Survivors, 3))
			}
		} else if !m.Measured && m.Reason != "" {
			s.note("test strength not measured: %s", m.Reason)
		}
	}
	source, testFiles := sourceChanges(in.ChangedFiles)
	hiddenProof := in.Acceptance != nil && in.Acceptance.Hidden && in.Acceptance.Passed
	if hiddenProof {
		// Tests the proposer never saw are the primary evidence: they passed.
		s.rules = math.Max(s.rules, 8)
		s.note("the work order's hidden acceptance tests passed (%d counted)", in.Acceptance.Counted)
	}
	switch {
	case hiddenProof && !(in.TestsAdded || testFiles):
		s.note("no tests added; the hidden acceptance tests prove the change")
	case in.TestsAdded || testFiles:
		s.note("tests added or changed")
	case len(source) == 0 && len(in.ChangedFiles) > 0:
		s.note("only documentation or configuration changed (no source code): no new test is required")
	case in.TestsOptional:
		s.cap(noTestsCap, "no tests added or changed (the work order does not require them)")
	default:
		s.cap(noTestsCap, "no tests added or changed")
	}
	switch {
	case in.TestsFailed > 0:
		s.cap(failingTestsCap, fmt.Sprintf("%d of %d tests failed%s", in.TestsFailed, in.TestsTotal, colonList(in.TestFindings, 3)))
	case !in.TestsSucceeded:
		s.cap(failingTestsCap, "the test command failed")
	}
	return s
}

// completeness: is the work actually done, or stubbed out?
func completeness(in Input) *sheet {
	s := newSheet()
	if !changed(in) {
		s.set(0, "no edits applied")
		return s
	}
	var edits []Finding
	for _, f := range in.EditFindings {
		if f.Category != CategoryIOError {
			edits = append(edits, f)
		}
	}
	stubs := byCategory(in.StaticFindings, CategoryNotImplemented, CategoryStub)
	todos := byCategory(in.StaticFindings, CategoryTODO)
	empty := byCategory(in.StaticFindings, CategoryEmptyBody)
	emptied := byCategory(in.StaticFindings, CategoryEmptiedFile)

	s.deduct(8, 10, len(stubs), plural(len(stubs), "not-implemented stub")+colonList(stubs, 3))
	s.deduct(8, 10, len(emptied), plural(len(emptied), "emptied file")+colonList(emptied, 3))
	s.deduct(2.5, 7.5, len(todos), plural(len(todos), "TODO marker")+colonList(todos, 3))
	s.deduct(3, 9, len(empty), plural(len(empty), "empty function body")+colonList(empty, 3))
	s.deduct(3, 9, len(edits), plural(len(edits), "edit")+" did not apply"+colonList(edits, 3))
	if len(s.reasons) == 0 {
		s.note("no stubs, TODOs, empty bodies or failed edits")
	}
	return s
}

// architecture: modest structural hygiene a diff can show.
func architecture(in Input) *sheet {
	s := newSheet()
	if !changed(in) {
		s.set(0, "no change to assess")
		return s
	}
	debug := byCategory(in.StaticFindings, CategoryDebugPrint)
	s.deduct(1, 3, len(debug), plural(len(debug), "debug print")+" left"+colonList(debug, 3))

	var foreign []string
	for _, f := range in.ChangedFiles {
		if generatedOrVendored(f) {
			foreign = append(foreign, f)
		}
	}
	s.deduct(2, 4, len(foreign), fmt.Sprintf("edits %s: %s", plural(len(foreign), "vendored or generated file"), list(foreign, 3)))

	if len(in.ChangedFiles) == 1 && in.LinesAdded > oneFileLines {
		s.deduct(2, 2, 1, fmt.Sprintf("all %d added lines are in one file (%s)", in.LinesAdded, in.ChangedFiles[0]))
	}
	if n := in.LinesAdded + in.LinesRemoved; n > hugeDiffLines {
		s.deduct(2, 2, 1, fmt.Sprintf("diff of %d lines is larger than one work order should need (%d)", n, hugeDiffLines))
	}
	if len(s.reasons) == 0 {
		s.note("%s, %d lines added, %d removed; no debug prints", plural(len(in.ChangedFiles), "file"), in.LinesAdded, in.LinesRemoved)
	}
	return s
}

// readability: line length, function length and linter findings.
func readability(in Input) *sheet {
	s := newSheet()
	if !changed(in) {
		s.set(0, "no change to assess")
		return s
	}
	s.deduct(0.25, 3, in.LongLines, fmt.Sprintf("%s longer than %d characters", plural(in.LongLines, "added line"), longLineLimit))
	if f := in.LongestFunction; f.Lines > 60 {
		d := 1.0
		switch {
		case f.Lines > 150:
			d = 3
		case f.Lines > 100:
			d = 2
		}
		s.deduct(d, d, 1, fmt.Sprintf("function %s (%s) is %d lines long", f.Name, f.File, f.Lines))
	}
	s.deduct(0.5, 4, len(in.LintFindings), plural(len(in.LintFindings), "lint finding")+colonList(in.LintFindings, 3))
	if len(s.reasons) == 0 {
		s.note("no long lines, long functions or lint findings")
	}
	return s
}

// generatedOrVendored reports paths a proposal should not edit by hand:
// dependency trees and build output, which the project's tools own.
func generatedOrVendored(p string) bool {
	for _, dir := range strings.Split(path.Dir(path.Clean(strings.ReplaceAll(p, "\\", "/"))), "/") {
		switch dir {
		case "node_modules", "vendor", "dist", ".next":
			return true
		}
	}
	return false
}

func byCategory(fs []Finding, cats ...string) []Finding {
	var out []Finding
	for _, f := range fs {
		for _, c := range cats {
			if f.Category == c {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func bySeverity(fs []Finding, sev string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f)
		}
	}
	return out
}

// firstErrors names the first three error findings (or, without any, the
// first findings at all) with their messages: the first compiler error is
// usually the cause of the rest.
func firstErrors(fs []Finding) string {
	var errs []Finding
	for _, f := range fs {
		if f.Severity == SeverityError || f.Severity == "" {
			errs = append(errs, f)
		}
	}
	if len(errs) == 0 {
		errs = fs
	}
	if len(errs) == 0 {
		return ""
	}
	parts := make([]string, 0, 3)
	for _, f := range errs[:min(3, len(errs))] {
		msg := shorten(f.Message, 100)
		if loc := location(f); loc != "" {
			msg = loc + ": " + msg
		}
		parts = append(parts, msg)
	}
	out := ": " + strings.Join(parts, "; ")
	if more := len(errs) - len(parts); more > 0 {
		out += fmt.Sprintf(" (and %d more)", more)
	}
	return out
}

// colonList is ": a.go:1, b.go:2 and 3 more", or "" without findings.
func colonList(fs []Finding, n int) string {
	locs := make([]string, 0, len(fs))
	for _, f := range fs {
		l := location(f)
		if l == "" {
			l = shorten(f.Message, 60)
		}
		if l != "" {
			locs = append(locs, l)
		}
	}
	if len(locs) == 0 {
		return ""
	}
	return ": " + list(locs, n)
}

func list(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

func location(f Finding) string {
	switch {
	case f.File == "":
		return ""
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
