package moose

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"sort"

	"gopkg.in/yaml.v3"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// Suite is a file of work orders against one project, run through one or more
// variants to compare them side by side (see examples/suites).
type Suite struct {
	Project    SuiteProject     `yaml:"project"`
	WorkOrders []SuiteWorkOrder `yaml:"work_orders"`
	// Hash identifies the suite's content; request ids derive from it, so
	// running the same suite twice reuses the work orders of the first run.
	Hash string `yaml:"-"`
}

// SuiteProject names the project a suite targets.
type SuiteProject struct {
	Name          string `yaml:"name"`
	Path          string `yaml:"path"`
	RepoURL       string `yaml:"repo_url"`
	DefaultBranch string `yaml:"default_branch"`
	Language      string `yaml:"language"`
}

// SuiteWorkOrder is one work order of a suite.
type SuiteWorkOrder struct {
	Title              string            `yaml:"title"`
	Description        string            `yaml:"description"`
	AcceptanceCriteria []string          `yaml:"acceptance_criteria"`
	Complexity         int32             `yaml:"complexity"`
	Metadata           map[string]string `yaml:"metadata"`
	// TestsRequired is nil when absent: tests are then required.
	TestsRequired *bool `yaml:"tests_required"`
	// BuildTimeout and TestTimeout are the work order's own time limits
	// ("90s"); absent: the project's.
	BuildTimeout Duration `yaml:"build_timeout"`
	TestTimeout  Duration `yaml:"test_timeout"`
	// Hidden acceptance tests (never shown to the proposer) and the tests
	// that must go from failing to passing or keep passing.
	AcceptanceTests     []AcceptanceTest `yaml:"acceptance_tests"`
	AcceptanceTestPatch string           `yaml:"acceptance_test_patch"`
	FailToPass          []string         `yaml:"fail_to_pass"`
	PassToPass          []string         `yaml:"pass_to_pass"`
}

// LoadSuite reads and checks a suite file; unknown fields are errors.
func LoadSuite(path string) (*Suite, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read suite: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var s Suite
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse suite %s: %w", path, err)
	}
	if s.Project.Name == "" || s.Project.Language == "" {
		return nil, fmt.Errorf("suite %s: project name and language are required", path)
	}
	if len(s.WorkOrders) == 0 {
		return nil, fmt.Errorf("suite %s: no work orders", path)
	}
	if s.Project.DefaultBranch == "" {
		s.Project.DefaultBranch = "main"
	}
	sum := sha256.Sum256(raw)
	s.Hash = hex.EncodeToString(sum[:6])
	return &s, nil
}

// Request builds the create request of work order i pinned to variant.
func (s *Suite) Request(projectID, variant string, i int) *moosev1.CreateWorkOrderRequest {
	w := s.WorkOrders[i]
	meta := map[string]string{"suite": s.Hash, "suite_index": fmt.Sprint(i)}
	for k, v := range w.Metadata {
		meta[k] = v
	}
	return &moosev1.CreateWorkOrderRequest{
		ProjectId: projectID, Title: w.Title, Description: w.Description, AcceptanceCriteria: w.AcceptanceCriteria,
		Complexity: w.Complexity, Metadata: meta, VariantId: variant,
		RequestId:       fmt.Sprintf("suite-%s-%s-%d", s.Hash, variant, i),
		TestsRequired:   w.TestsRequired,
		BuildTimeout:    w.BuildTimeout.Proto(),
		TestTimeout:     w.TestTimeout.Proto(),
		AcceptanceTests: AcceptanceTestsProto(w.AcceptanceTests), AcceptanceTestPatch: w.AcceptanceTestPatch,
		FailToPass: w.FailToPass, PassToPass: w.PassToPass,
	}
}

// VariantSummary aggregates one variant's finished work orders. Its JSON
// names are snake_case, like the API's (moosectl suite run -o json prints it).
type VariantSummary struct {
	// Variant is the variant as the run named it (id or name).
	Variant      string `json:"variant"`
	WorkOrders   int    `json:"work_orders"`
	Finished     int    `json:"finished"`
	BuildsPassed int    `json:"builds_passed"`
	TestsPassed  int    `json:"tests_passed"`
	// HiddenRan counts work orders whose acceptance tests ran, HiddenPassed
	// those whose acceptance tests all passed.
	HiddenRan    int `json:"hidden_tests_ran"`
	HiddenPassed int `json:"hidden_tests_passed"`
	Passed       int `json:"passed"`
	// MeanScore and MeanDimension (dimension name → mean) count a work order
	// without a result as 0.
	MeanScore     float64            `json:"mean_score"`
	MeanDimension map[string]float64 `json:"mean_dimension"`
	MeanCycles    float64            `json:"mean_cycles"`
	FixedByRefine int                `json:"fixed_by_refinement"` // passed after more than one cycle
	CostUSD       float64            `json:"cost_usd"`
	Failed        int                `json:"system_failures"`
	// FailureCategories counts, over work orders that did not pass, the
	// finding categories of their final attempt (one count per category per
	// work order): what this variant gets wrong.
	FailureCategories map[string]int `json:"failure_categories"`
}

// PassRate is the share of work orders that passed.
func (v VariantSummary) PassRate() float64 { return ratio(v.Passed, v.WorkOrders) }

// CostPerAccepted is the total cost divided by accepted work orders (+Inf when none passed).
func (v VariantSummary) CostPerAccepted() float64 {
	if v.Passed == 0 {
		return math.Inf(1)
	}
	return v.CostUSD / float64(v.Passed)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Summarize computes a variant's summary from its work orders. Unfinished or
// failed work orders count as score 0, not passed.
func Summarize(variant string, wos []*moosev1.WorkOrder) VariantSummary {
	s := VariantSummary{Variant: variant, WorkOrders: len(wos), MeanDimension: map[string]float64{}}
	var cycles int
	for _, w := range wos {
		if IsTerminal(w.GetStatus()) {
			s.Finished++
		}
		if w.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED {
			s.Failed++
		}
		r := w.GetResult()
		if r == nil {
			continue
		}
		if r.GetBuildPassed() {
			s.BuildsPassed++
		}
		if r.GetTestsPassed() {
			s.TestsPassed++
		}
		if h := r.GetHiddenTests(); h.GetRan() && len(h.GetTests()) > 0 {
			s.HiddenRan++
			if h.GetPassed() {
				s.HiddenPassed++
			}
		}
		if r.GetPassed() {
			s.Passed++
			if r.GetCycles() > 1 {
				s.FixedByRefine++
			}
		}
		s.MeanScore += r.GetOverallScore()
		cycles += int(r.GetCycles())
		s.CostUSD += r.GetCostUsd()
		for _, d := range r.GetDimensions() {
			s.MeanDimension[d.GetName()] += d.GetScore()
		}
	}
	if n := float64(len(wos)); n > 0 {
		s.MeanScore /= n
		s.MeanCycles = float64(cycles) / n
		for k := range s.MeanDimension {
			s.MeanDimension[k] /= n
		}
	}
	return s
}

// CountFailures fills s.FailureCategories from the final attempts of the
// work orders that did not pass (attempts as ListWorkOrderAttempts returns
// them, keyed by work order id).
func (s *VariantSummary) CountFailures(wos []*moosev1.WorkOrder, attempts map[string][]*moosev1.Attempt) {
	s.FailureCategories = map[string]int{}
	for _, w := range wos {
		if w.GetResult().GetPassed() {
			continue
		}
		var final *moosev1.Attempt
		for _, a := range attempts[w.GetId()] {
			if a.GetShadow() {
				continue
			}
			if final == nil || a.GetExecution() > final.GetExecution() ||
				(a.GetExecution() == final.GetExecution() && a.GetCycle() > final.GetCycle()) {
				final = a
			}
		}
		if final == nil {
			if w.GetStatus() == moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED {
				s.FailureCategories["system_failure"]++
			}
			continue
		}
		seen := map[string]bool{}
		for _, f := range final.GetFindings() {
			if f.GetCategory() != "" && !seen[f.GetCategory()] {
				seen[f.GetCategory()] = true
				s.FailureCategories[f.GetCategory()]++
			}
		}
		if len(seen) == 0 && final.GetGate() != "" {
			s.FailureCategories["gate: "+final.GetGate()]++
		}
	}
}

// FailureNames returns the failure categories seen, most frequent first.
func FailureNames(sums []VariantSummary) []string {
	total := map[string]int{}
	for _, s := range sums {
		for k, n := range s.FailureCategories {
			total[k] += n
		}
	}
	out := make([]string, 0, len(total))
	for k := range total {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if total[out[i]] != total[out[j]] {
			return total[out[i]] > total[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

// DimensionNames returns the dimension names seen, in a stable order.
func DimensionNames(sums []VariantSummary) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sums {
		for k := range s.MeanDimension {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	order := map[string]int{"build_success": 0, "test_coverage": 1, "completeness": 2, "architecture": 3, "readability": 4}
	sort.Slice(out, func(i, j int) bool {
		oi, iok := order[out[i]]
		oj, jok := order[out[j]]
		if iok && jok {
			return oi < oj
		}
		if iok != jok {
			return iok
		}
		return out[i] < out[j]
	})
	return out
}
