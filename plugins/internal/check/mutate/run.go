package mutate

import (
	"context"
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
}

// Defaults keep a typical work order's extra cost near 30 s on 2 cores.
const (
	DefaultMaxMutants = 20
	DefaultTime       = 30 * time.Second
)

func (b Budget) withDefaults() Budget {
	if b.MaxMutants <= 0 {
		b.MaxMutants = DefaultMaxMutants
	}
	if b.Time <= 0 {
		b.Time = DefaultTime
	}
	return b
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

// Run tries mutants in order (see Select) within the budget. try runs the
// tests against one mutant; deadline is when the whole budget ends, so try
// can bound its command by it. An error from try stops the run and is
// returned with what was tried so far.
func Run(ctx context.Context, ms []Mutant, b Budget, try func(ctx context.Context, m Mutant, deadline time.Time) (Outcome, error)) (Result, error) {
	b = b.withDefaults()
	sel := Select(ms, b.MaxMutants)
	res := Result{Exhausted: len(sel) < len(ms)}
	deadline := time.Now().Add(b.Time)
	for i, m := range sel {
		if time.Now().After(deadline) || ctx.Err() != nil {
			res.Exhausted = res.Exhausted || i < len(sel)
			break
		}
		o, err := try(ctx, m, deadline)
		if err != nil {
			return res, err
		}
		res.Tried = append(res.Tried, Tried{Mutant: m, Outcome: o})
	}
	return res, nil
}
