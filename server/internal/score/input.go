package score

// Finding severities, as validators and the edit extractor report them.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Static-check categories the rules recognise (Input.StaticFindings). Other
// categories are kept by the pipeline for failure analysis but do not score.
const (
	// CategoryTODO: a TODO, FIXME or XXX marker in changed code.
	CategoryTODO = "todo"
	// CategoryNotImplemented: a "not implemented" stub: panic("not
	// implemented"), throw new Error("Not implemented"), errors.New("TODO")...
	CategoryNotImplemented = "not_implemented"
	// CategoryStub is accepted as a synonym of CategoryNotImplemented (the
	// plugin contract's failure signature uses "stub").
	CategoryStub = "stub"
	// CategoryEmptyBody: a function or method with an empty body.
	CategoryEmptyBody = "empty_body"
	// CategoryDebugPrint: a debug print left behind (console.log, fmt.Println
	// in library code, print()).
	CategoryDebugPrint = "debug_print"
	// CategoryEmptiedFile: a file the change emptied or truncated to nothing.
	CategoryEmptiedFile = "emptied_file"
	// CategoryIOError is the edit extractor's category for a filesystem error:
	// a fault of the host, not of the proposal, so it does not score.
	CategoryIOError = "io_error"
)

// Finding is one problem reported about the attempt. It mirrors the plugin
// contract's Finding without depending on generated types.
type Finding struct {
	File     string
	Line     int
	Category string
	// Severity is one of SeverityError, SeverityWarning, SeverityInfo; empty
	// counts as an error.
	Severity string
	Message  string
}

// Contribution is a validator plugin's own score for one dimension (an LLM
// judge, a linter that grades readability). It blends into that dimension
// with its weight; see doc.go.
type Contribution struct {
	// Source names the validator, and prefixes its reasons.
	Source string
	// Dimension is one of the Dim* names; contributions to other names are ignored.
	Dimension string
	// Score is 0 to 10; values outside are clamped, NaN is ignored.
	Score float64
	// Weight is relative to the built-in rules, which weigh 1. Zero means 1;
	// negative, NaN or infinite weights are ignored.
	Weight  float64
	Reasons []string
}

// FunctionSize locates the longest function among the changed code.
type FunctionSize struct {
	File  string
	Name  string
	Lines int
}

// Input is what validation learned about one attempt: the applied edits, the
// project's build and tests run on the result, static checks, and scores
// reported by validator plugins. The zero value of every field means "nothing
// was reported", which the rules read as the cautious reading (a build that
// did not run did not pass).
type Input struct {
	// EditsApplied counts the edits that applied to the worktree.
	EditsApplied int
	// EditFindings are the edits that did not apply (malformed blocks,
	// SEARCH text not found, refused paths): missing parts of the proposal.
	EditFindings []Finding
	// ChangedFiles are the paths the change touched, relative to the root.
	ChangedFiles []string
	// LinesAdded and LinesRemoved are the size of the change.
	LinesAdded, LinesRemoved int

	// BuildRan reports that the project's build command ran; BuildPassed that
	// it succeeded.
	BuildRan, BuildPassed bool
	// TypecheckRan and TypecheckPassed are the separate typecheck step
	// (tsc --noEmit, go vet) where the project has one. A validator that
	// treats some typecheck output as advisory reports it as warning
	// findings with TypecheckPassed set.
	TypecheckRan, TypecheckPassed bool
	// BuildFindings are compiler and typecheck errors and warnings, in the
	// order the tools printed them (the first error is usually the cause).
	BuildFindings []Finding

	// TestsRan reports that the project's tests ran. TestsSucceeded that the
	// test command succeeded: every test package compiled and no test failed.
	TestsRan, TestsSucceeded bool
	// Test counts over the whole run.
	TestsTotal, TestsPassed, TestsFailed, TestsSkipped int
	// TestFindings name the failing tests (File is the test file or package,
	// Message the test name and its first output line).
	TestFindings []Finding
	// Coverage is line coverage of the packages or files the change touched,
	// in percent; meaningful only when CoverageMeasured.
	Coverage         float64
	CoverageMeasured bool
	// TestsAdded reports that the change added or changed test files.
	TestsAdded bool
	// Mutation is test strength (nil: not reported).
	Mutation *Mutation
	// TestsOptional is the work order's waiver of the tests gate
	// (tests_required: false). The zero value requires tests.
	TestsOptional bool

	// StaticFindings are the static checks over changed code; the categories
	// that score are the Category* constants.
	StaticFindings []Finding
	// LintFindings are linter and style findings over changed code.
	LintFindings []Finding
	// LongLines counts added lines longer than 120 characters.
	LongLines int
	// LongestFunction is the longest function the change added or modified;
	// zero Lines when not measured.
	LongestFunction FunctionSize

	// Contributions are the dimension scores validator plugins reported.
	Contributions []Contribution

	// Acceptance is the verdict of the work order's acceptance tests (hidden
	// tests, FAIL_TO_PASS, PASS_TO_PASS); nil when it has none and no
	// baseline was needed.
	Acceptance *Acceptance
}

// Acceptance is the acceptance tests' verdict as the rules read it.
type Acceptance struct {
	// Ran: the acceptance run happened; Passed: every test that counts passed.
	Ran, Passed bool
	// Hidden: the work order has hidden test files (they are then the
	// primary test evidence).
	Hidden bool
	// Failures name the tests that did not pass ("id failed").
	Failures []string
	// Counted is how many tests the verdict counted (named and derived).
	Counted int
	// Refused are hidden test files the proposal tried to write.
	Refused []string
}

// CategoryHiddenTest is the edit finding of a proposal that wrote one of the
// work order's hidden acceptance test files: refused, and a hard gate.
const CategoryHiddenTest = "hidden_test"

// CategorySurvivingMutant is a mutant of the changed code no test failed on.
const CategorySurvivingMutant = "surviving_mutant"

// CategoryTimeout is a validator's finding that a command (or one test) ran
// past its time limit: a hang, not a build problem.
const CategoryTimeout = "timeout"

// Mutation is test strength: mutants of the changed functions run against
// the tests (see doc.go).
type Mutation struct {
	// Measured is false when the validator could not measure it; Reason says why.
	Measured bool
	Reason   string
	// Run counts viable mutants run, Killed those a test failed on.
	Run, Killed int
	// Exhausted: the budget stopped the run early.
	Exhausted bool
	Functions []MutatedFunction
	// Survivors are the surviving mutants (file, line, message).
	Survivors []Finding
}

// MutatedFunction is one changed function under mutation.
type MutatedFunction struct {
	File, Name string
	Line       int
	// Reached: the tests execute it. GateMeasured: its zero-value and panic
	// mutants ran; GateKilled: the tests failed on all of them.
	Reached, GateMeasured, GateKilled bool
}
