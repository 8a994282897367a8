// Package check holds what Moose's built-in validators share: the finding and report shapes
// every language preset returns, how commands are run (through the sandbox unless the
// operator opted out), log trimming, test-file detection and dependency installation.
//
// The presets live in subpackages: gocheck (go build, vet, test), jscheck (npm, tsc, vitest,
// jest) and static (language-agnostic checks on the changed files).
package check

import (
	"context"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// Finding categories. They are the failure signatures Moose groups by, so they are stable.
const (
	CategorySyntaxError       = "syntax_error"
	CategoryUndefinedSymbol   = "undefined_symbol"
	CategoryMissingImport     = "missing_import"
	CategoryUnusedImport      = "unused_import"
	CategoryUnusedVariable    = "unused_variable"
	CategoryMissingDependency = "missing_dependency"
	CategoryTypeError         = "type_error"
	CategoryBuildError        = "build_error"
	CategoryVet               = "vet"
	CategoryTestFailure       = "test_failure"
	CategoryTestBuildFailure  = "test_build_failure"
	CategoryTimeout           = "timeout"
	CategoryOutOfMemory       = "out_of_memory"
	CategoryCPULimit          = "cpu_limit"
	CategoryDiskQuota         = "disk_quota"
	CategoryNoTests           = "no_tests"
	CategoryMarker            = "todo_marker"
	CategoryStub              = "stub"
	CategoryEmptyBody         = "empty_body"
	CategoryDebugPrint        = "debug_print"
	CategoryEmptiedFile       = "emptied_file"
	// CategorySurvivingMutant: a mutant of the changed code that no test
	// failed on (see package mutate).
	CategorySurvivingMutant = "surviving_mutant"
	// CategoryCriterion: an acceptance criterion of the work order that is an
	// executable example (package criteria) does not hold for the proposal.
	CategoryCriterion = "criterion_not_met"
)

// Severities.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Finding is one problem, located where possible. File is relative to the worktree, with
// forward slashes; Line and Column are 1-based, 0 when unknown.
type Finding struct {
	File     string
	Line     int
	Column   int
	Category string
	Severity string
	Message  string
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, f.Line)
		if f.Column > 0 {
			loc = fmt.Sprintf("%s:%d", loc, f.Column)
		}
	}
	return fmt.Sprintf("%s: %s [%s] %s", loc, f.Severity, f.Category, f.Message)
}

// TestStatus is the outcome of one test.
type TestStatus string

// Test outcomes.
const (
	TestPassed  TestStatus = "pass"
	TestFailed  TestStatus = "fail"
	TestSkipped TestStatus = "skip"
)

// TestCase is one test's result. Output is kept (trimmed) for failures only.
type TestCase struct {
	Package  string // Go import path, or the test file for JS
	Name     string
	Status   TestStatus
	Duration time.Duration
	Output   string
}

// Tests sums up a test run.
type Tests struct {
	Passed, Failed, Skipped int
	Cases                   []TestCase
}

// Add records a case and counts it.
func (t *Tests) Add(c TestCase) {
	switch c.Status {
	case TestPassed:
		t.Passed++
	case TestFailed:
		t.Failed++
	case TestSkipped:
		t.Skipped++
	}
	t.Cases = append(t.Cases, c)
}

// Total is the number of tests that ran or were skipped.
func (t *Tests) Total() int { return t.Passed + t.Failed + t.Skipped }

// FileCoverage is statement coverage of one file.
type FileCoverage struct {
	File           string
	Covered, Total int
}

// Percent is covered/total in percent; 0 for a file without statements.
func (f FileCoverage) Percent() float64 { return percent(f.Covered, f.Total) }

// Coverage is statement coverage over the code a change touched (the packages of changed Go
// files, or the changed source files for JS), and over the whole project.
type Coverage struct {
	// Percent, Covered and Total are over the touched scope; when nothing was touched (or no
	// change list was given) the scope is the whole project.
	Percent        float64
	Covered, Total int
	// ProjectPercent is over everything the profile measured.
	ProjectPercent float64
	// Files lists the touched scope's files.
	Files []FileCoverage
}

func percent(covered, total int) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(covered) / float64(total)
}

// NewCoverage sums files; touched selects the scope (nil selects everything).
func NewCoverage(all []FileCoverage, touched func(file string) bool) *Coverage {
	c := &Coverage{}
	var pc, pt int
	for _, f := range all {
		pc += f.Covered
		pt += f.Total
		if touched == nil || touched(f.File) {
			c.Files = append(c.Files, f)
			c.Covered += f.Covered
			c.Total += f.Total
		}
	}
	if len(c.Files) == 0 {
		c.Files, c.Covered, c.Total = all, pc, pt
	}
	slices.SortFunc(c.Files, func(a, b FileCoverage) int { return strings.Compare(a.File, b.File) })
	c.Percent = percent(c.Covered, c.Total)
	c.ProjectPercent = percent(pc, pt)
	return c
}

// Report is what one validation step (build or test) found.
type Report struct {
	// OK is true when the step's commands succeeded.
	OK       bool
	Findings []Finding
	// Tests and Coverage are set by test steps.
	Tests    *Tests
	Coverage *Coverage
	// TestsChanged is true when the change added or modified test files.
	TestsChanged bool
	// Mutation is test strength, measured by test steps after a passing run
	// (nil when not attempted).
	Mutation *Mutation
	// Repeats is how many repetitions of the suite Tests holds (one entry
	// per test per repetition); 0 means one.
	Repeats int
	// Log is the commands' output, trimmed to LogLimit.
	Log      string
	TimedOut bool
	OOM      bool
	Duration time.Duration
}

// LogLimit is how much command output a Report keeps.
const LogLimit = 64 << 10

// TrimLog keeps the head and tail of s within limit bytes.
func TrimLog(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	half := limit / 2
	return s[:half] + fmt.Sprintf("\n... [%d bytes trimmed] ...\n", len(s)-2*half) + s[len(s)-half:]
}

// Runner runs a preset's commands. The zero value runs them sandboxed with the sandbox's
// default limits.
type Runner struct {
	// Unsandboxed must only be set on the operator's explicit opt-out.
	Unsandboxed bool
	Timeout     time.Duration
	// CompileTimeout is the wall-clock a test command gets on top of
	// Timeout for compiling before its tests start, where the toolchain's
	// own test timeout leaves compiling out (go test). 0: the two share
	// Timeout.
	CompileTimeout time.Duration
	MemoryBytes    int64
	CPUTime        time.Duration
	OutputLimit    int
	// TmpDir, TmpBytes, FileSizeBytes, OpenFiles and MaxProcs are the sandbox
	// limits of the same names.
	TmpDir        string
	TmpBytes      int64
	FileSizeBytes int64
	OpenFiles     int
	MaxProcs      int
	// ReadOnly, ReadWrite and Env are added to every command's spec.
	ReadOnly, ReadWrite []string
	Env                 map[string]string
}

// Run runs s with the runner's limits and binds merged in; fields set on s win.
func (r Runner) Run(ctx context.Context, s sandbox.Spec) (sandbox.Result, error) {
	if s.Timeout == 0 {
		s.Timeout = r.Timeout
	}
	if s.MemoryBytes == 0 {
		s.MemoryBytes = r.MemoryBytes
	}
	if s.CPUTime == 0 {
		s.CPUTime = r.CPUTime
	}
	if s.OutputLimit == 0 {
		s.OutputLimit = r.OutputLimit
	}
	if s.TmpDir == "" {
		s.TmpDir = r.TmpDir
	}
	if s.TmpBytes == 0 {
		s.TmpBytes = r.TmpBytes
	}
	if s.FileSizeBytes == 0 {
		s.FileSizeBytes = r.FileSizeBytes
	}
	if s.OpenFiles == 0 {
		s.OpenFiles = r.OpenFiles
	}
	if s.MaxProcs == 0 {
		s.MaxProcs = r.MaxProcs
	}
	s.ReadOnly = append(slices.Clone(r.ReadOnly), s.ReadOnly...)
	s.ReadWrite = append(slices.Clone(r.ReadWrite), s.ReadWrite...)
	env := maps.Clone(r.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, s.Env)
	s.Env = env
	s.Unsandboxed = s.Unsandboxed || r.Unsandboxed
	res, err := sandbox.Run(ctx, s)
	if err != nil {
		return res, fmt.Errorf("run %s: %w", strings.Join(s.Args, " "), err)
	}
	return res, nil
}

// ApplyResult copies a command's outcome into r and appends its output to the log.
func (r *Report) ApplyResult(res sandbox.Result) {
	r.Duration += res.Duration
	r.TimedOut = r.TimedOut || res.TimedOut
	r.OOM = r.OOM || res.OOM
	r.Log = TrimLog(r.Log+res.Output(), LogLimit)
	if res.TimedOut {
		r.Findings = append(r.Findings, Finding{Category: CategoryTimeout, Severity: SeverityError,
			Message: fmt.Sprintf("command timed out after %s", res.Duration.Round(time.Millisecond))})
	}
	if res.OOM {
		r.Findings = append(r.Findings, Finding{Category: CategoryOutOfMemory, Severity: SeverityError,
			Message: "command ran out of memory"})
	}
	if res.CPULimited {
		r.Findings = append(r.Findings, Finding{Category: CategoryCPULimit, Severity: SeverityError,
			Message: fmt.Sprintf("a process was stopped at the CPU time limit after %s of CPU (an endless loop or a busy wait?)", res.CPUTime.Round(time.Second))})
	}
	if res.FileSizeLimited {
		r.Findings = append(r.Findings, Finding{Category: CategoryDiskQuota, Severity: SeverityError,
			Message: "a process tried to write a file larger than the sandbox allows"})
	}
}

// RelPath makes p relative to dir with forward slashes when it lies inside dir, and cleans
// it otherwise.
func RelPath(dir, p string) string {
	p = strings.TrimSpace(p)
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
		return p
	}
	return path.Clean(filepath.ToSlash(p))
}

// IsTestFile reports whether a path (relative, forward slashes) is a test file in any of
// the languages we validate.
func IsTestFile(p string) bool {
	base := path.Base(p)
	if strings.HasSuffix(base, "_test.go") {
		return true
	}
	for _, s := range []string{".test.", ".spec."} {
		if strings.Contains(base, s) {
			return true
		}
	}
	for _, seg := range strings.Split(path.Dir(p), "/") {
		if seg == "__tests__" || seg == "test" || seg == "tests" {
			return isCode(base)
		}
	}
	stem := strings.TrimSuffix(base, path.Ext(base))
	return isCode(base) && (stem == "test" || stem == "tests" || strings.HasPrefix(stem, "test_") ||
		strings.HasSuffix(stem, "_test") || strings.HasSuffix(stem, "_spec")) // test.sh, test_parse.py, parse_test.rb
}

func isCode(base string) bool {
	switch path.Ext(base) {
	case ".go", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".py", ".sh", ".rb", ".rs", ".java", ".kt":
		return true
	}
	return false
}

// TouchesTests reports whether any changed path is a test file.
func TouchesTests(changed []string) bool {
	return slices.ContainsFunc(changed, IsTestFile)
}

// Mutation is the test-strength measurement of one test step: mutants of the
// changed functions, run against the tests that reach them.
type Mutation struct {
	// Measured is false when the step could not measure it (a project's own
	// test command, an unsupported language); Reason says why.
	Measured bool
	Reason   string
	// Run counts the viable mutants that ran; Killed those a test failed on.
	// NotViable mutants did not compile and count in neither.
	Run, Killed, NotViable int
	// Exhausted: the budget (mutant count or wall time) stopped the run early.
	Exhausted bool
	Functions []MutatedFunc
	Duration  time.Duration
}

// MutatedFunc is one changed or added function under mutation.
type MutatedFunc struct {
	File string
	Name string
	Line int
	// Reached: the tests execute the function (from coverage; true when
	// coverage is not known).
	Reached bool
	// GateRun: its zero-value and panic mutants ran (or were equivalent);
	// GateKilled: the tests failed on every one of them.
	GateRun, GateKilled bool
}

// MutationOptions ask a test step to measure test strength after a passing
// run.
type MutationOptions struct {
	// MaxMutants and Time are the budget (0: package mutate's defaults).
	MaxMutants int
	Time       time.Duration
	// Lines are the changed line numbers of each changed file (new version);
	// a changed file absent from the map, or with nil lines, counts whole.
	Lines map[string][]int
}

// LinesOf returns the changed lines of rel (nil: the whole file).
func (o *MutationOptions) LinesOf(rel string) []int {
	if o == nil || o.Lines == nil {
		return nil
	}
	return o.Lines[rel]
}

// OnlyTestFailures reports whether failing tests are all that went wrong in
// a test run: it failed, was not cut short by a limit, some tests failed,
// and every error finding is a test failure (every package or file built
// and loaded). Test strength can then still be measured with those tests
// left out.
func OnlyTestFailures(res sandbox.Result, findings []Finding, tests *Tests) bool {
	if res.Success() || res.TimedOut || res.Canceled || res.OOM || res.CPULimited || res.FileSizeLimited || tests == nil || tests.Failed == 0 {
		return false
	}
	for _, f := range findings {
		if f.Severity == SeverityError && f.Category != CategoryTestFailure {
			return false
		}
	}
	return true
}
