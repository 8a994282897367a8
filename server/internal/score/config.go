package score

import (
	"math"

	"github.com/moosehq/moose/server/internal/fault"
)

// Weights are the relative importance of the five dimensions in the overall
// score. They need not sum to 1: Compute divides by their sum.
type Weights struct {
	BuildSuccess float64 `json:"build_success"`
	TestCoverage float64 `json:"test_coverage"`
	Completeness float64 `json:"completeness"`
	Architecture float64 `json:"architecture"`
	Readability  float64 `json:"readability"`
}

// DefaultWeights put half the weight on the two things cheap models get wrong
// and the static signals can prove: that the change builds and that it is
// complete. Tests come next; architecture and readability are judged by
// modest heuristics (or a judge plugin) and weigh least.
func DefaultWeights() Weights {
	return Weights{
		BuildSuccess: 0.25,
		TestCoverage: 0.20,
		Completeness: 0.25,
		Architecture: 0.15,
		Readability:  0.15,
	}
}

// byName returns the weight of a dimension.
func (w Weights) byName(name string) float64 {
	switch name {
	case DimBuildSuccess:
		return w.BuildSuccess
	case DimTestCoverage:
		return w.TestCoverage
	case DimCompleteness:
		return w.Completeness
	case DimArchitecture:
		return w.Architecture
	case DimReadability:
		return w.Readability
	}
	return 0
}

// Config tunes scoring.
type Config struct {
	Weights Weights `json:"weights"`
	// PassThreshold is the overall score (0–10) an attempt needs to pass.
	PassThreshold float64 `json:"pass_threshold"`
	// MinCompleteness is a hard gate like the build: an attempt whose
	// completeness scores below it fails whatever its overall score, because a
	// not-implemented stub or a trail of TODOs is exactly the skeletal code
	// the weights alone could let through next to a clean build. 0 disables it.
	MinCompleteness float64 `json:"min_completeness"`
	// MinMutationScore is a hard gate on test strength: where mutation
	// testing ran, the share of viable mutants the tests killed (0–1) must
	// reach it. 0 disables this part of the gate; the zero-value/panic gate
	// per function always applies. See doc.go on equivalent mutants.
	MinMutationScore float64 `json:"min_mutation_score"`
}

// DefaultConfig is the configuration Moose scores with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Weights:          DefaultWeights(),
		PassThreshold:    7,
		MinCompleteness:  5,
		MinMutationScore: 0.6,
	}
}

// Validate reports every problem of the configuration at once, as a
// *fault.ValidationError whose field names are the JSON names.
func (c Config) Validate() error {
	v := &fault.ValidationError{}
	sum := 0.0
	for _, name := range DimensionNames() {
		w := c.Weights.byName(name)
		switch {
		case math.IsNaN(w) || math.IsInf(w, 0):
			v.Add("weights."+name, "must be a finite number, got %v", w)
		case w < 0:
			v.Add("weights."+name, "must not be negative, got %g", w)
		default:
			sum += w
		}
	}
	if sum == 0 {
		v.Add("weights", "at least one weight must be positive")
	}
	if !inRange(c.PassThreshold) {
		v.Add("pass_threshold", "must be between 0 and 10, got %g", c.PassThreshold)
	}
	if !inRange(c.MinCompleteness) {
		v.Add("min_completeness", "must be between 0 and 10, got %g", c.MinCompleteness)
	}
	if !(c.MinMutationScore >= 0 && c.MinMutationScore <= 1) {
		v.Add("min_mutation_score", "must be between 0 and 1, got %g", c.MinMutationScore)
	}
	return v.Err()
}

func inRange(x float64) bool { return x >= 0 && x <= 10 } // false for NaN

// sanitized makes any Config safe to compute with, so Compute never returns
// NaN: unusable weights count as 0, all-zero weights become the defaults, and
// thresholds outside 0–10 are clamped (NaN takes the default).
func (c Config) sanitized() Config {
	d := DefaultConfig()
	fix := func(w *float64) {
		if math.IsNaN(*w) || math.IsInf(*w, 0) || *w < 0 {
			*w = 0
		}
	}
	w := &c.Weights
	for _, p := range []*float64{&w.BuildSuccess, &w.TestCoverage, &w.Completeness, &w.Architecture, &w.Readability} {
		fix(p)
	}
	if w.BuildSuccess+w.TestCoverage+w.Completeness+w.Architecture+w.Readability == 0 {
		c.Weights = d.Weights
	}
	thresh := func(x, def float64) float64 {
		if math.IsNaN(x) {
			return def
		}
		return clamp(x)
	}
	c.PassThreshold = thresh(c.PassThreshold, d.PassThreshold)
	c.MinCompleteness = thresh(c.MinCompleteness, d.MinCompleteness)
	if !(c.MinMutationScore >= 0) {
		c.MinMutationScore = d.MinMutationScore
	}
	c.MinMutationScore = math.Min(c.MinMutationScore, 1)
	return c
}
