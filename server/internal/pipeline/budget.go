package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moosehq/moose/server/internal/pluginhost"
)

// errOverBudget marks an execution stopped because its time budget ran out.
var errOverBudget = errors.New("execution ran over its time budget")

// otherJobTimeout bounds the queue's other jobs (closing a pull request).
const otherJobTimeout = 10 * time.Minute

// setUp is the plugin host's allowance for a sandbox's set-up per validator
// call, and budgetSlack the time an execution spends outside plugins
// (database, workspaces, applying edits, publishing).
const (
	setUp       = time.Minute
	budgetSlack = 5 * time.Minute
)

// budget is how long one execution (or shadow run) may take when its build
// and test limits are build and test: the sum of the deadlines of everything
// it may do. That is a baseline run and a hidden-test run of the base tree,
// and per cycle (1 + MaxRefinements of them) a proposer call and one call of
// each validator, each bounded as the plugin host bounds it (two commands
// under the limit, compiling tests on top, the mutation budget as far as it
// may stretch, the sandbox's set-up); plus budgetSlack. So the budget follows the configured limits: a
// project with a 30 s test limit gets minutes, one with long builds hours.
func (c *Config) budget(build, test time.Duration) time.Duration {
	mutation := pluginhost.MutationAllowance(c.Mutation.Time, c.Mutation.Disabled)
	call := func(limit, compile time.Duration) time.Duration { return 2*limit + compile + mutation + setUp }
	testRun := 2*test + build + setUp // baseline and hidden runs: no mutants
	cycle := c.ProposeTimeout
	for _, name := range c.Validators {
		switch name {
		case "build":
			cycle += call(build, 0)
		case "test":
			cycle += call(test, build)
		default:
			cycle += call(cmp.Or(c.ValidatorTimeout, build), 0)
		}
	}
	return 2*testRun + time.Duration(1+c.MaxRefinements)*cycle + budgetSlack
}

// budgetOf is r's time budget: Config.JobTimeout when set, else budget for
// r's own limits.
func (e *Engine) budgetOf(r *run) time.Duration {
	if e.cfg.JobTimeout > 0 {
		return e.cfg.JobTimeout
	}
	build, test := r.timeouts(e.cfg)
	return e.cfg.budget(build, test)
}

// withinBudget runs fn under r's time budget. An error caused by the budget
// running out (and not by ctx ending) is marked errOverBudget, naming it.
func (e *Engine) withinBudget(ctx context.Context, r *run, fn func(context.Context) error) error {
	budget := e.budgetOf(r)
	bctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	err := fn(bctx)
	if err != nil && ctx.Err() == nil && errors.Is(bctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (%s): %w", errOverBudget, budget, err)
	}
	return err
}
