package jscheck

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
	"github.com/moosehq/moose/plugins/internal/check/mutate"
	"github.com/moosehq/moose/plugins/internal/sandbox"
)

// mutation measures test strength after a passing run: each mutant of the
// changed functions the tests reach is written into the file (replacing it
// by rename, so a hard-linked tree is never written through), the tests
// related to the file run (vitest related, jest --findRelatedTests; npm test
// runs everything), and the original is put back before the next one. skip,
// when set, is a test-name pattern leaving out tests that failed before any
// mutation; the unmutated tree must pass under it first, or test strength is
// not measured (a failure the pattern missed would "kill" every mutant).
func (o Options) mutation(ctx context.Context, dir, runner string, base sandbox.Spec, cov *check.Coverage, baseline time.Duration, skip string) (*check.Mutation, []check.Finding, error) {
	start := time.Now()
	m := &check.Mutation{Measured: true}
	covered := map[string]int{}
	if cov != nil {
		for _, f := range cov.Files {
			covered[f.File] = f.Covered + 1 // +1: measured
		}
	}
	var all []mutate.Mutant
	reached := map[string]bool{}
	for _, rel := range o.Changed {
		rel = path.Clean(rel)
		if check.IsTestFile(rel) {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		ms, targets := mutate.JS(rel, src, o.Mutation.LinesOf(rel))
		// Coverage here is per file: a file the run measured without running
		// any of it is unreached; one it did not measure counts as reached.
		r := covered[rel] != 1
		for _, t := range targets {
			reached[t.File+"\x00"+t.Func] = r
			m.Functions = append(m.Functions, check.MutatedFunc{File: t.File, Name: t.Func, Line: t.StartLine, Reached: r})
		}
		for _, mu := range ms {
			if reached[mu.File+"\x00"+mu.Func] {
				all = append(all, mu)
			}
		}
	}
	if len(m.Functions) == 0 {
		m.Measured, m.Reason = false, "the change touches no TypeScript/JavaScript function outside tests"
		return m, nil, nil
	}
	bin := func(name string) string { return filepath.Join(dir, "node_modules", ".bin", name) }
	related := func(files ...string) []string {
		var args []string
		switch runner {
		case RunnerVitest:
			args = append([]string{bin("vitest"), "related", "--run", "--passWithNoTests", "--reporter=dot"}, files...)
			if skip != "" {
				args = append(args, "-t", skip)
			}
		case RunnerJest:
			args = append([]string{bin("jest"), "--ci", "--passWithNoTests", "--findRelatedTests"}, files...)
			if skip != "" {
				args = append(args, "--testNamePattern", skip)
			}
		default:
			args = []string{"npm", "test"}
		}
		return args
	}
	perMutant := 3*baseline + 10*time.Second
	if skip != "" {
		var files []string
		for _, mu := range all {
			if !slices.Contains(files, mu.File) {
				files = append(files, mu.File)
			}
		}
		s := base
		s.Args = related(files...)
		s.Timeout = perMutant
		s.OutputLimit = 256 << 10
		r, err := o.Runner.Run(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		if !r.Success() || len(assertionFindings(r.Output())) > 0 {
			m.Measured, m.Reason = false, "the tests related to the change still failed with the failing tests left out, so mutants could not be judged"
			return m, nil, nil
		}
	}
	res, err := mutate.Run(ctx, all, mutate.Budget{MaxMutants: o.Mutation.MaxMutants, Time: o.Mutation.Time, Pace: baseline},
		func(ctx context.Context, mu mutate.Mutant, deadline time.Time) (mutate.Outcome, error) {
			full := filepath.Join(dir, filepath.FromSlash(mu.File))
			orig, err := os.ReadFile(full)
			if err != nil {
				return mutate.NotViable, nil
			}
			if err := replaceFile(full, mu.Apply(orig)); err != nil {
				return 0, err
			}
			defer replaceFile(full, orig) //nolint:errcheck // checked below too
			s := base
			s.Args = related(mu.File)
			s.Timeout = min(perMutant, time.Until(deadline)+5*time.Second)
			s.OutputLimit = 256 << 10
			r, err := o.Runner.Run(ctx, s)
			if rerr := replaceFile(full, orig); rerr != nil {
				return 0, fmt.Errorf("restore %s after a mutant: %w", mu.File, rerr)
			}
			if err != nil {
				return 0, err
			}
			switch {
			case r.TimedOut:
				return mutate.Killed, nil
			case r.Success() && len(assertionFindings(r.Output())) == 0:
				return mutate.Survived, nil
			}
			return mutate.Killed, nil
		})
	if err != nil {
		return nil, nil, err
	}
	findings := gocheck.Summarize(m, res)
	m.Duration = time.Since(start)
	return m, findings, nil
}

// replaceFile writes data to p through a rename, so that a hard link to p's
// old content keeps that content.
func replaceFile(p string, data []byte) error {
	tmp := p + ".moose-tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", p, err)
	}
	return nil
}
