package mutate

import (
	"context"
	"sync"
	"time"
)

// Outcome is what the tests did with one mutant.
type Outcome int

// Outcomes.
const (
	// Killed: a test failed (or the run crashed or timed out).
	Killed Outcome = iota
	// Survived: every test still passed.
	Survived
	// NotViable: the mutant did not compile; it proves nothing either way.
	NotViable
)

// Budget bounds the mutants of one attempt.
type Budget struct {
	// MaxMutants is the most mutants run (default DefaultMaxMutants).
	MaxMutants int
	// Time is the wall time for all of them (default DefaultTime). The
	// mutant running when it expires finishes; no new one starts.
	Time time.Duration
	// Workers is how many mutants run at once (default 1). Only a try that
	// leaves the tree alone (Go's -overlay) may run several.
	Workers int
	// Pace is how long one mutant's tests are expected to take on this
	// machine now: the passing run's duration. When the selected mutants
	// need longer than Time at that pace, the run's time stretches to fit
	// them, up to MaxStretch × Time. A slower or busier machine then runs
	// the same mutants rather than fewer, so the verdict does not depend on
	// the load (a time-cut run scored only the few mutants it reached).
	Pace time.Duration
}

// Defaults keep a typical work order's extra cost near 30 s on 2 cores.
const (
	DefaultMaxMutants = 20
	DefaultTime       = 30 * time.Second
	// MaxStretch bounds how far Pace stretches Time. Callers bounding a
	// whole validation allow for MaxStretch × Time (the plugin host's
	// validate deadline and the pipeline's execution budget do).
	MaxStretch = 4
)

func (b Budget) withDefaults() Budget {
	if b.MaxMutants <= 0 {
		b.MaxMutants = DefaultMaxMutants
	}
	if b.Time <= 0 {
		b.Time = DefaultTime
	}
	if b.Workers <= 0 {
		b.Workers = 1
	}
	return b
}

// window is the wall time for n selected mutants: Time, stretched to what n
// mutants need at b.Pace with b.Workers at a time, at most MaxStretch × Time.
func (b Budget) window(n int) time.Duration {
	b = b.withDefaults()
	rounds := (n + b.Workers - 1) / b.Workers
	need := time.Duration(rounds) * b.Pace
	return min(max(b.Time, need), MaxStretch*b.Time)
}

// Tried is one mutant and its outcome.
type Tried struct {
	Mutant  Mutant
	Outcome Outcome
}

// Result is a mutation run.
type Result struct {
	Tried []Tried
	// Exhausted: the budget stopped the run before every mutant was tried.
	Exhausted bool
}

// Run tries mutants in order (see Select) within the budget, b.Workers at a
// time, for Time stretched to the pace of the passing run (see Budget.Pace). try runs the tests against one mutant; deadline is when the whole
// budget ends, so try can bound its command by it. An error from try stops
// the run and is returned with what was tried so far. Result.Tried keeps
// Select's order whatever order the mutants finished in.
func Run(ctx context.Context, ms []Mutant, b Budget, try func(ctx context.Context, m Mutant, deadline time.Time) (Outcome, error)) (Result, error) {
	b = b.withDefaults()
	sel := Select(ms, b.MaxMutants)
	deadline := time.Now().Add(b.window(len(sel)))
	outcomes := make([]Outcome, len(sel))
	done := make([]bool, len(sel))
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	// claim hands out the next mutant, or -1 once the budget, the context
	// or an error says stop.
	claim := func() int {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(sel) || firstErr != nil || ctx.Err() != nil || time.Now().After(deadline) {
			return -1
		}
		next++
		return next - 1
	}
	for range min(b.Workers, max(len(sel), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := claim(); i >= 0; i = claim() {
				o, err := try(ctx, sel[i], deadline)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
				} else {
					outcomes[i], done[i] = o, true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res := Result{Exhausted: len(sel) < len(ms)}
	for i, m := range sel {
		if !done[i] {
			res.Exhausted = res.Exhausted || firstErr == nil
			continue
		}
		res.Tried = append(res.Tried, Tried{Mutant: m, Outcome: outcomes[i]})
	}
	return res, firstErr
}
