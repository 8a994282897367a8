package score

import (
	"fmt"
	"math"
	"strings"
)

// The five acceptance dimensions, named as in the plugin contract.
const (
	DimBuildSuccess = "build_success"
	DimTestCoverage = "test_coverage"
	DimCompleteness = "completeness"
	DimArchitecture = "architecture"
	DimReadability  = "readability"
)

// DimensionNames lists the dimensions in the order results report them.
func DimensionNames() []string {
	return []string{DimBuildSuccess, DimTestCoverage, DimCompleteness, DimArchitecture, DimReadability}
}

// Dimension is one scored dimension.
type Dimension struct {
	Name string `json:"name"`
	// Score is 0–10, one decimal.
	Score float64 `json:"score"`
	// Weight is the dimension's share of the overall score; the five sum to 1.
	Weight float64 `json:"weight"`
	// Reasons explain the score, one short sentence each, with the points a
	// rule took away in parentheses.
	Reasons []string `json:"reasons"`
}

// Result is the score of one attempt.
type Result struct {
	// Overall is the weighted mean of the dimension scores as reported
	// (already rounded), rounded to one decimal, so it can be recomputed by
	// hand from what is shown, and capped at GateCap when a hard gate failed:
	// an attempt that did not prove itself never reads as a pass.
	Overall float64 `json:"overall"`
	// Weighted is the weighted mean before the gate cap (equal to Overall
	// when every gate held), kept so a reviewer sees what the cap took.
	Weighted float64 `json:"weighted"`
	// Passed: every hard gate held and Overall reached the pass threshold.
	Passed bool `json:"passed"`
	// Dimensions are the five dimensions in DimensionNames order.
	Dimensions []Dimension `json:"dimensions"`
	// Gate says why the attempt failed a hard gate ("; " between several);
	// empty when every gate held.
	Gate string `json:"gate,omitempty"`
}

// Dimension returns the named dimension of r.
func (r Result) Dimension(name string) (Dimension, bool) {
	for _, d := range r.Dimensions {
		if d.Name == name {
			return d, true
		}
	}
	return Dimension{}, false
}

// Compute scores one attempt. It is pure: the same Config and Input always
// give the same Result. cfg should have passed Validate; an invalid cfg is
// repaired rather than rejected (see Config) so that Compute cannot fail.
func Compute(cfg Config, in Input) Result {
	cfg = cfg.sanitized()
	sheets := map[string]*sheet{
		DimBuildSuccess: buildSuccess(in),
		DimTestCoverage: testCoverage(in),
		DimCompleteness: completeness(in),
		DimArchitecture: architecture(in),
		DimReadability:  readability(in),
	}
	for _, c := range in.Contributions {
		if s, ok := sheets[c.Dimension]; ok {
			s.blend(c)
		}
	}

	total := 0.0
	for _, name := range DimensionNames() {
		total += cfg.Weights.byName(name)
	}
	res := Result{Dimensions: make([]Dimension, 0, len(sheets))}
	overall := 0.0
	for _, name := range DimensionNames() {
		s := sheets[name]
		d := Dimension{
			Name:    name,
			Score:   round1(s.final()),
			Weight:  cfg.Weights.byName(name) / total,
			Reasons: s.reasons,
		}
		overall += d.Score * d.Weight
		res.Dimensions = append(res.Dimensions, d)
	}
	res.Weighted = round1(clamp(overall))
	res.Overall = res.Weighted

	gates := hardGates(in)
	if c, _ := res.Dimension(DimCompleteness); cfg.MinCompleteness > 0 && c.Score < cfg.MinCompleteness {
		gates = append(gates, fmt.Sprintf("completeness %.1f is below the minimum %g", c.Score, cfg.MinCompleteness))
	}
	gates = append(gates, mutationGates(cfg, in.Mutation)...)
	res.Gate = strings.Join(gates, "; ")
	if len(gates) > 0 {
		res.Overall = math.Min(res.Overall, GateCap)
	}
	res.Passed = len(gates) == 0 && res.Overall >= cfg.PassThreshold
	return res
}

// GateCap is the highest overall score an attempt that failed a hard gate
// can have: below the 6.0 floor experiments and rollbacks judge variants by,
// so a variant whose attempts fail gates can never look better than one
// whose attempts pass them.
const GateCap = 5.9

// hardGates are the conditions no weighting can outvote: a change that does
// not build, whose tests fail, or that changes nothing is never accepted.
func hardGates(in Input) []string {
	var g []string
	if !changed(in) {
		g = append(g, "no edits applied: the attempt changed nothing")
	}
	switch {
	case !in.BuildRan:
		g = append(g, "the build did not run, so nothing proves the change builds")
	case !in.BuildPassed && hasTimeout(in.BuildFindings):
		g = append(g, "the build timed out"+firstErrors(timeouts(in.BuildFindings)))
	case !in.BuildPassed:
		g = append(g, "build failed"+firstErrors(in.BuildFindings))
	case in.TypecheckRan && !in.TypecheckPassed:
		g = append(g, "typecheck failed"+firstErrors(in.BuildFindings))
	}
	switch {
	case !in.TestsRan:
		g = append(g, "the tests did not run")
	case !in.TestsSucceeded && hasTimeout(in.TestFindings):
		// A hang is not a compile problem: say so, with the test that hung.
		g = append(g, "the tests timed out"+firstErrors(timeouts(in.TestFindings)))
	case in.TestsFailed > 0:
		g = append(g, fmt.Sprintf("%d of %d tests failed%s", in.TestsFailed, in.TestsTotal, colonList(in.TestFindings, 3)))
	case !in.TestsSucceeded && compileProblem(in.TestFindings):
		g = append(g, "the test command failed (a test package does not compile)"+firstErrors(in.TestFindings))
	case !in.TestsSucceeded:
		g = append(g, "the test command failed"+firstErrors(in.TestFindings))
	case in.TestsTotal == 0:
		g = append(g, "no tests ran")
	}
	if why := testsGate(in); why != "" {
		g = append(g, why)
	}
	if a := in.Acceptance; a != nil {
		switch {
		case len(a.Refused) > 0:
			g = append(g, "the proposal wrote the work order's hidden acceptance tests: "+strings.Join(a.Refused, ", "))
		case !a.Ran:
			g = append(g, "the acceptance tests did not run")
		case !a.Passed:
			g = append(g, "acceptance tests did not pass: "+listFirst(a.Failures, 5))
		}
	}
	return g
}

// listFirst joins up to n items, saying how many more there are.
func listFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}

func hasTimeout(fs []Finding) bool { return len(timeouts(fs)) > 0 }

func timeouts(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Category == CategoryTimeout {
			out = append(out, f)
		}
	}
	return out
}

// compileProblem: a finding says a test package did not build, or nothing
// says why the command failed.
func compileProblem(fs []Finding) bool {
	if len(fs) == 0 {
		return true
	}
	for _, f := range fs {
		switch f.Category {
		case "syntax_error", "undefined_symbol", "missing_import", "unused_import", "unused_variable",
			"missing_dependency", "type_error", "build_error", "test_build_failure":
			return true
		}
	}
	return false
}

// mutationGates are the test-strength gates: every changed function the
// tests reach must have its zero-value and panic mutants killed, and the
// mutation score must reach cfg.MinMutationScore.
func mutationGates(cfg Config, m *Mutation) []string {
	if m == nil || !m.Measured {
		return nil
	}
	var g, weak []string
	for _, f := range m.Functions {
		if f.Reached && f.GateMeasured && !f.GateKilled {
			weak = append(weak, f.Name)
		}
	}
	if len(weak) > 0 {
		g = append(g, fmt.Sprintf("the tests still pass when %s returns zero values or panics: they do not check %s",
			list(weak, 3), map[bool]string{true: "it", false: "them"}[len(weak) == 1]))
	}
	if ms, ok := m.score(); ok && cfg.MinMutationScore > 0 && ms < cfg.MinMutationScore {
		g = append(g, fmt.Sprintf("mutation score %.2f (%d of %d mutants killed) is below the minimum %g",
			ms, m.Killed, m.Run, cfg.MinMutationScore))
	}
	return g
}

// score is killed/run, when any viable mutant ran.
func (m *Mutation) score() (float64, bool) {
	if m == nil || !m.Measured || m.Run <= 0 {
		return 0, false
	}
	return float64(m.Killed) / float64(m.Run), true
}

// testsGate is the tests gate: a change to source code must add or change a
// test, unless the work order waived it. Empty when it holds.
func testsGate(in Input) string {
	source, tests := sourceChanges(in.ChangedFiles)
	if len(source) == 0 || tests || in.TestsAdded || in.TestsOptional {
		return ""
	}
	return fmt.Sprintf("the change modifies source code (%s) but adds or changes no test", list(source, 3))
}

func changed(in Input) bool { return in.EditsApplied > 0 || len(in.ChangedFiles) > 0 }

// sheet accumulates one dimension: the built-in rules start at 10 and deduct,
// then contributions blend in.
type sheet struct {
	rules   float64
	reasons []string
	// blended contributions: sum of weight*score and of weights.
	wsum, wscore float64
}

func newSheet() *sheet { return &sheet{rules: 10} }

func (s *sheet) note(format string, args ...any) {
	s.reasons = append(s.reasons, fmt.Sprintf(format, args...))
}

// deduct takes points per occurrence, capped at most in all, and explains it.
func (s *sheet) deduct(each, most float64, n int, what string) {
	if n <= 0 {
		return
	}
	d := math.Min(each*float64(n), most)
	s.rules -= d
	s.note("%s (-%g)", what, d)
}

// cap lowers the rule score to at most c, and explains it when it bites.
func (s *sheet) cap(c float64, why string) {
	if s.rules > c {
		s.rules = c
		s.note("%s: capped at %g", why, c)
	}
}

// set fixes the rule score outright.
func (s *sheet) set(v float64, format string, args ...any) {
	s.rules = v
	s.note(format, args...)
}

func (s *sheet) blend(c Contribution) {
	w := c.Weight
	if w == 0 {
		w = 1
	}
	if math.IsNaN(c.Score) || math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return
	}
	src := c.Source
	if src == "" {
		src = "validator"
	}
	s.wsum += w
	s.wscore += w * clamp(c.Score)
	s.note("%s scored %.1f (weight %g)", src, clamp(c.Score), w)
	for _, r := range c.Reasons {
		s.note("%s: %s", src, r)
	}
}

// final is the weighted mean of the rule score (weight 1) and the contributions.
func (s *sheet) final() float64 {
	return clamp((clamp(s.rules) + s.wscore) / (1 + s.wsum))
}

func clamp(x float64) float64 { return math.Max(0, math.Min(10, x)) }

// round1 rounds to one decimal, half up. The nudge absorbs binary error in the
// weights (0.15 is not exact), so 8.25 computed by hand and by Compute agree.
func round1(x float64) float64 { return math.Round(x*10+1e-9) / 10 }
