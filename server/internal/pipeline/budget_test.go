package pipeline

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/workorder"
)

func TestBudgetIsTheSumOfTheLimits(t *testing.T) {
	cfg := Config{}
	cfg.setDefaults()
	// Defaults: 5m limits, build, test and static validators, a 2m mutation
	// allowance (the 30 s default stretched at most 4× to the pace of the
	// passing run), three cycles. A validator call: 2 × limit (+ build for the
	// test run) + mutation + 1m set-up; baseline and hidden runs: 2 × test +
	// build + 1m each; 5m slack.
	buildCall := 2*5*time.Minute + 2*time.Minute + time.Minute
	testCall := 2*5*time.Minute + 5*time.Minute + 2*time.Minute + time.Minute
	staticCall := buildCall // other validators get the build limit
	cycle := 5*time.Minute + buildCall + testCall + staticCall
	testRun := 2*5*time.Minute + 5*time.Minute + time.Minute
	require.Equal(t, 2*testRun+3*cycle+5*time.Minute, cfg.budget(5*time.Minute, 5*time.Minute))

	// The budget follows the run's limits, not a fixed hour.
	short := cfg.budget(30*time.Second, 30*time.Second)
	long := cfg.budget(time.Hour, time.Hour)
	require.Less(t, short, cfg.budget(5*time.Minute, 5*time.Minute)/2)
	require.Greater(t, long, 10*time.Hour)
	require.Greater(t, cfg.budget(5*time.Minute, 20*time.Minute), cfg.budget(5*time.Minute, 5*time.Minute))

	// Fewer cycles, no mutants: less.
	lean := Config{MaxRefinements: -1, Mutation: MutationBudget{Disabled: true}}
	lean.setDefaults()
	require.Equal(t, 2*testRun+(5*time.Minute+10*time.Minute+time.Minute+15*time.Minute+time.Minute+10*time.Minute+time.Minute)+5*time.Minute,
		lean.budget(5*time.Minute, 5*time.Minute))

	// The queue's own rescue comes after any work order's largest budget.
	require.Greater(t, cfg.RescueAfter, cfg.budget(workorder.MaxTimeout, workorder.MaxTimeout))
}

func TestBudgetOfARunUsesItsOwnLimits(t *testing.T) {
	e := &Engine{cfg: Config{}}
	e.cfg.setDefaults()
	r := &run{project: &workorder.Project{TestTimeout: 20 * time.Second}, wo: &workorder.WorkOrder{BuildTimeout: 10 * time.Second}}
	require.Equal(t, e.cfg.budget(10*time.Second, 20*time.Second), e.budgetOf(r))
	require.Equal(t, e.cfg.budget(5*time.Minute, 5*time.Minute), e.budgetOf(&run{}))

	e.cfg.JobTimeout = 90 * time.Second
	require.Equal(t, 90*time.Second, e.budgetOf(r), "an explicit execution timeout wins")
}
