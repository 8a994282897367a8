package acceptance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Test statuses, as the pipeline's test reports name them.
const (
	Passed  = "passed"
	Failed  = "failed"
	Skipped = "skipped"
	// DidNotRun: no result matched the test's identifier.
	DidNotRun = "did_not_run"
)

// Result is one test's outcome in one run: Suite is the Go package's import
// path or the JavaScript test file, Name the test (Go: "TestX/sub").
type Result struct {
	Suite   string `json:"suite"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// Key is the canonical identifier of a result: "suite.Name" for Go,
// "file::name" for JavaScript (a suite that ends in a script extension).
func (r Result) Key() string {
	if jsFile(r.Suite) {
		return r.Suite + "::" + r.Name
	}
	return r.Suite + "." + r.Name
}

func jsFile(s string) bool {
	for _, ext := range []string{".js", ".ts", ".mjs", ".cjs", ".jsx", ".tsx", ".mts", ".cts"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}

// splitID reads an identifier in the runner's terms: "file::name" (vitest,
// jest), "pkg/path.TestName[/sub]" (Go: the last "." before a name that
// starts with Test, Example, Fuzz or Benchmark), or a bare name.
func splitID(id string) (suite, name string) {
	if s, n, ok := strings.Cut(id, "::"); ok {
		return s, n
	}
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] != '.' || strings.Contains(id[:i], " ") {
			continue
		}
		for _, p := range []string{"Test", "Example", "Fuzz", "Benchmark"} {
			if strings.HasPrefix(id[i+1:], p) {
				return id[:i], id[i+1:]
			}
		}
	}
	return "", id
}

// suiteMatches: a suite given as an import path, a path relative to the
// module ("strutil", "./strutil") or a file path relative to the repository
// matches a result's suite that equals it or ends in "/" + it.
func suiteMatches(want, got string) bool {
	want = strings.TrimPrefix(want, "./")
	return want == "" || got == want || strings.HasSuffix(got, "/"+want)
}

// Match finds the results an identifier names; a parent test also matches
// its subtests only when no result has its exact name.
func Match(id string, results []Result) []Result {
	suite, name := splitID(id)
	var out []Result
	for _, r := range results {
		if r.Name == name && suiteMatches(suite, r.Suite) {
			out = append(out, r)
		}
	}
	return out
}

// status folds the matched results of one identifier: failed when any
// failed, passed when every one passed, skipped, or did not run.
func status(matched []Result) (string, string) {
	if len(matched) == 0 {
		return DidNotRun, ""
	}
	st := Passed
	for _, r := range matched {
		switch r.Status {
		case Failed:
			return Failed, r.Message
		case Skipped:
			st = Skipped
		}
	}
	return st, ""
}

// Baseline is what the base commit's tests did, over Repeats runs.
type Baseline struct {
	BaseCommit  string `json:"base_commit"`
	Repeats     int    `json:"repeats"`
	BuildPassed bool   `json:"build_passed"`
	// Passing passed in every run, Failing failed in every run, Flaky
	// differed across runs (keys, sorted).
	Passing    []string `json:"passing"`
	Failing    []string `json:"failing"`
	Flaky      []string `json:"flaky"`
	DurationMS int64    `json:"duration_ms"`
	// Reused is set when this execution read the baseline from the store.
	Reused bool `json:"reused,omitempty"`
}

// Derived test limits (TestLimit).
const (
	// TestLimitFactor is how many times its base commit's measured test run
	// a candidate's test run may take.
	TestLimitFactor = 10
	// MinTestLimit is the least derived limit: room for a cold build of the
	// packages the change touched.
	MinTestLimit = time.Minute
)

// TestLimit is the test time limit for a project that sets none of its own:
// TestLimitFactor times its base commit's measured test run, at least
// MinTestLimit, at most ceiling (moosed's default). Without a baseline that
// built and ran tests, ceiling.
func TestLimit(b *Baseline, ceiling time.Duration) time.Duration {
	if b == nil || !b.BuildPassed || b.DurationMS <= 0 || len(b.Passing)+len(b.Failing)+len(b.Flaky) == 0 {
		return ceiling
	}
	d := TestLimitFactor * time.Duration(b.DurationMS) * time.Millisecond
	return min(ceiling, max(MinTestLimit, d.Round(time.Second)))
}

// SplitRepeats splits the results of one command that ran the suite k times
// (one entry per test per repetition, in order) into k runs. ok is false
// when some test has other than k entries: a repetition was cut short (the
// binary crashed or timed out), so the runs cannot be told apart.
func SplitRepeats(results []Result, k int) (runs [][]Result, ok bool) {
	if k < 1 {
		return nil, false
	}
	runs = make([][]Result, k)
	seen := map[string]int{}
	for _, r := range results {
		i := seen[r.Key()]
		if i >= k {
			return nil, false
		}
		seen[r.Key()] = i + 1
		runs[i] = append(runs[i], r)
	}
	for _, n := range seen {
		if n != k {
			return nil, false
		}
	}
	return runs, true
}

// FirstOccurrences keeps each test's first result: the first repetition of
// a repeated run, as one run.
func FirstOccurrences(results []Result) []Result {
	seen := map[string]bool{}
	var out []Result
	for _, r := range results {
		if !seen[r.Key()] {
			seen[r.Key()] = true
			out = append(out, r)
		}
	}
	return out
}

// Classify folds repeated runs of the base commit's tests.
func Classify(base string, buildPassed bool, runs [][]Result, durationMS int64) Baseline {
	b := Baseline{BaseCommit: base, Repeats: len(runs), BuildPassed: buildPassed, DurationMS: durationMS}
	outcomes := map[string]map[string]bool{}
	for _, run := range runs {
		seen := map[string]string{}
		for _, r := range run {
			if r.Status == Skipped {
				continue
			}
			k := r.Key()
			if seen[k] == Failed {
				continue
			}
			seen[k] = r.Status
		}
		for k, st := range seen {
			if outcomes[k] == nil {
				outcomes[k] = map[string]bool{}
			}
			outcomes[k][st] = true
		}
	}
	// A test missing from some runs (it crashed the binary, say) is flaky.
	count := map[string]int{}
	for _, run := range runs {
		seen := map[string]bool{}
		for _, r := range run {
			if !seen[r.Key()] && r.Status != Skipped {
				seen[r.Key()] = true
				count[r.Key()]++
			}
		}
	}
	for k, o := range outcomes {
		switch {
		case len(o) > 1 || count[k] < len(runs):
			b.Flaky = append(b.Flaky, k)
		case o[Passed]:
			b.Passing = append(b.Passing, k)
		default:
			b.Failing = append(b.Failing, k)
		}
	}
	sort.Strings(b.Passing)
	sort.Strings(b.Failing)
	sort.Strings(b.Flaky)
	return b
}

// Outcome is one FAIL_TO_PASS or PASS_TO_PASS test's verdict.
type Outcome struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"` // "fail_to_pass" or "pass_to_pass"
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// Excluded from the gate, and why.
	Excluded  bool   `json:"excluded,omitempty"`
	Exclusion string `json:"exclusion,omitempty"`
	// Derived: a PASS_TO_PASS test taken from the baseline.
	Derived bool `json:"derived,omitempty"`
}

// Report is the verdict of the acceptance tests of one cycle.
type Report struct {
	// Ran: the acceptance run happened (the build passed).
	Ran    bool `json:"ran"`
	Passed bool `json:"passed"`
	// Tests lists every named test and every derived one that did not pass.
	Tests         []Outcome `json:"tests,omitempty"`
	DerivedPassed int       `json:"derived_passed,omitempty"`
	Baseline      *Baseline `json:"baseline,omitempty"`
	// Refused are hidden test paths the proposal wrote.
	Refused []string `json:"refused,omitempty"`
	// Excused are failures of the proposal's own test run that were already
	// failing or flaky at the base commit.
	Excused []string `json:"excused,omitempty"`
	// Doubtful are FAIL_TO_PASS tests that prove little: already passing or
	// flaky at the base commit.
	Doubtful []string `json:"doubtful,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Failures are the outcomes that fail the gate, as "id (status)" lines.
func (r *Report) Failures() []string {
	var out []string
	for _, o := range r.Tests {
		if !o.Excluded && o.Status != Passed {
			out = append(out, fmt.Sprintf("%s %s", o.ID, strings.ReplaceAll(o.Status, "_", " ")))
		}
	}
	return out
}

// Judge compares the acceptance run's results with the spec and the
// baseline (nil when none ran). results are nil when the run did not happen.
func Judge(spec Spec, base *Baseline, results []Result, ran bool) *Report {
	rep := &Report{Ran: ran, Baseline: base}
	flaky := func(keys []string) bool {
		return base != nil && slices.ContainsFunc(keys, func(k string) bool { return slices.Contains(base.Flaky, k) })
	}
	failingAtBase := func(keys []string) bool {
		return base != nil && len(keys) > 0 && !slices.ContainsFunc(keys, func(k string) bool { return !slices.Contains(base.Failing, k) })
	}
	keysOf := func(rs []Result) []string {
		var ks []string
		for _, r := range rs {
			ks = append(ks, r.Key())
		}
		return ks
	}
	for _, id := range spec.FailToPass {
		m := Match(id, results)
		st, msg := status(m)
		if !ran {
			st, msg = DidNotRun, "the acceptance run did not happen (the build failed)"
		}
		o := Outcome{ID: id, Kind: "fail_to_pass", Status: st, Message: msg}
		if st == DidNotRun && ran {
			o.Message = "test " + id + " did not run"
		}
		if flaky(keysOf(m)) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("FAIL_TO_PASS test %s is flaky at the base commit: its result proves little", id))
			rep.Doubtful = append(rep.Doubtful, id)
		} else if base != nil && len(m) > 0 && baseAllPass(base, keysOf(m)) && !spec.Hidden() {
			rep.Notes = append(rep.Notes, fmt.Sprintf("FAIL_TO_PASS test %s already passes at the base commit", id))
			rep.Doubtful = append(rep.Doubtful, id)
		}
		rep.Tests = append(rep.Tests, o)
	}
	p2p := spec.PassToPass
	derived := false
	if len(p2p) == 0 && base != nil {
		p2p, derived = base.Passing, true
	}
	for _, id := range p2p {
		if slices.Contains(spec.FailToPass, id) {
			continue
		}
		var m []Result
		if derived {
			m = exact(id, results)
		} else {
			m = Match(id, results)
		}
		st, msg := status(m)
		if !ran {
			st, msg = DidNotRun, "the acceptance run did not happen (the build failed)"
		}
		o := Outcome{ID: id, Kind: "pass_to_pass", Status: st, Message: msg, Derived: derived}
		keys := keysOf(m)
		if derived {
			keys = []string{id}
		}
		switch {
		case flaky(keys):
			o.Excluded, o.Exclusion = true, "flaky at the base commit"
		case failingAtBase(keys):
			o.Excluded, o.Exclusion = true, "failing at the base commit"
		}
		if derived && st == Passed {
			rep.DerivedPassed++
			continue
		}
		rep.Tests = append(rep.Tests, o)
	}
	if base != nil {
		for _, k := range base.Flaky {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s is flaky at the base commit (its outcome differed across %d runs): excluded from the gates", k, base.Repeats))
		}
		for _, k := range base.Failing {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s was already failing at the base commit: not blamed on the change", k))
		}
	}
	rep.Passed = ran && len(rep.Failures()) == 0
	return rep
}

func exact(key string, results []Result) []Result {
	var out []Result
	for _, r := range results {
		if r.Key() == key {
			out = append(out, r)
		}
	}
	return out
}

func baseAllPass(b *Baseline, keys []string) bool {
	for _, k := range keys {
		if !slices.Contains(b.Passing, k) {
			return false
		}
	}
	return true
}

// Excuse returns the failing results of a proposal's own test run that the
// baseline explains (failing or flaky at the base commit), and whether every
// failure is explained.
func Excuse(base *Baseline, results []Result) (excused []string, all bool) {
	if base == nil {
		return nil, false
	}
	all = true
	failed := 0
	for _, r := range results {
		if r.Status != Failed {
			continue
		}
		failed++
		k := r.Key()
		if slices.Contains(base.Failing, k) || slices.Contains(base.Flaky, k) {
			excused = append(excused, k)
		} else if !isParentOfExcused(r, results, base) {
			all = false
		} else {
			excused = append(excused, k)
		}
	}
	return excused, all && failed > 0
}

// isParentOfExcused: Go reports a parent test as failed when a subtest
// failed; the parent is explained when every failing subtest is.
func isParentOfExcused(parent Result, results []Result, base *Baseline) bool {
	prefix := parent.Name + "/"
	any := false
	for _, r := range results {
		if r.Suite != parent.Suite || !strings.HasPrefix(r.Name, prefix) || r.Status != Failed {
			continue
		}
		any = true
		k := r.Key()
		if !slices.Contains(base.Failing, k) && !slices.Contains(base.Flaky, k) {
			return false
		}
	}
	return any
}
