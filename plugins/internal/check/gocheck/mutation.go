package gocheck

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/mutate"
)

// mutation measures test strength after a passing run: mutants of the changed
// functions the tests reach, each run (through a -overlay, so the worktree is
// never written) against the packages that contain or import the mutated
// one. profile is the passing run's coverage profile; baseline its duration.
//
// skip, when set, is a -skip pattern for tests that failed before any
// mutation: they kill nothing.
func (o Options) mutation(ctx context.Context, dir, modulePath, outDir, profile string, baseline time.Duration, skip string) (*check.Mutation, []check.Finding, error) {
	start := time.Now()
	m := &check.Mutation{Measured: true}
	blocks := coveredBlocks(profile, modulePath)
	var all []mutate.Mutant
	reached := map[string]bool{} // file\x00func
	for _, rel := range o.Changed {
		rel = path.Clean(rel)
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			continue // deleted by the change
		}
		ms, targets := mutate.Go(rel, src, o.Mutation.LinesOf(rel))
		for _, t := range targets {
			r := blocks == nil || blocks.covers(rel, t.StartLine, t.EndLine)
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
		m.Measured, m.Reason = false, "the change touches no Go function outside tests"
		return m, nil, nil
	}
	var (
		pkgMu sync.Mutex
		pkgs  = map[string][]string{} // package dir -> the packages to test for it
		seq   atomic.Int64
	)
	dependentsOf := func(pd string) []string {
		pkgMu.Lock()
		defer pkgMu.Unlock()
		if _, ok := pkgs[pd]; !ok {
			pkgs[pd] = dependents(dir, modulePath, pd)
		}
		return pkgs[pd]
	}
	perMutant := 3*baseline + 10*time.Second
	// Mutants reach the compiler through -overlay and never touch the tree,
	// so several run at once.
	budget := mutate.Budget{MaxMutants: o.Mutation.MaxMutants, Time: o.Mutation.Time, Workers: min(runtime.NumCPU(), 4), Pace: baseline}
	res, err := mutate.Run(ctx, all, budget,
		func(ctx context.Context, mu mutate.Mutant, deadline time.Time) (mutate.Outcome, error) {
			n := seq.Add(1)
			orig, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(mu.File)))
			if err != nil {
				return mutate.NotViable, nil
			}
			src := mutate.FixGoImports(orig, mu.Apply(orig))
			mutant := filepath.Join(outDir, fmt.Sprintf("mutant-%d.go", n))
			overlay := filepath.Join(outDir, fmt.Sprintf("overlay-%d.json", n))
			if err := os.WriteFile(mutant, src, 0o644); err != nil {
				return 0, fmt.Errorf("write mutant: %w", err)
			}
			// The overlay names the file as the sandboxed go command sees it.
			abs, err := filepath.Abs(filepath.Join(o.treePath(dir), filepath.FromSlash(mu.File)))
			if err != nil {
				return 0, err
			}
			ov, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: mutant}})
			if err := os.WriteFile(overlay, ov, 0o644); err != nil {
				return 0, fmt.Errorf("write overlay: %w", err)
			}
			args := []string{"go", "test", "-count=1", "-failfast", "-overlay=" + overlay}
			if skip != "" {
				args = append(args, "-skip="+skip)
			}
			s, err := o.spec(dir, append(args, dependentsOf(path.Dir(mu.File))...)...)
			if err != nil {
				return 0, err
			}
			s.ReadWrite = append(s.ReadWrite, outDir)
			s.Timeout = min(perMutant, time.Until(deadline)+5*time.Second)
			s.OutputLimit = 256 << 10
			r, err := o.Runner.Run(ctx, s)
			if err != nil {
				return 0, err
			}
			out := r.Output()
			switch {
			case r.TimedOut:
				return mutate.Killed, nil
			case r.Success():
				return mutate.Survived, nil
			case strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]"):
				return mutate.NotViable, nil
			}
			return mutate.Killed, nil
		})
	if err != nil {
		return nil, nil, err
	}
	findings := Summarize(m, res)
	m.Duration = time.Since(start)
	return m, findings, nil
}

// Summarize fills m's counts and gate verdicts from a run and returns the
// surviving mutants as findings.
func Summarize(m *check.Mutation, res mutate.Result) []check.Finding {
	m.Exhausted = res.Exhausted
	type gate struct{ run, killed, total int }
	gates := map[string]*gate{}
	var out []check.Finding
	for _, t := range res.Tried {
		key := t.Mutant.File + "\x00" + t.Mutant.Func
		if mutate.IsGate(t.Mutant.Kind) {
			if gates[key] == nil {
				gates[key] = &gate{}
			}
			gates[key].total++
		}
		switch t.Outcome {
		case mutate.NotViable:
			m.NotViable++
			continue
		case mutate.Killed:
			m.Run++
			m.Killed++
			if g := gates[key]; g != nil && mutate.IsGate(t.Mutant.Kind) {
				g.run++
				g.killed++
			}
		case mutate.Survived:
			m.Run++
			if g := gates[key]; g != nil && mutate.IsGate(t.Mutant.Kind) {
				g.run++
			}
			out = append(out, check.Finding{File: t.Mutant.File, Line: t.Mutant.Line, Category: check.CategorySurvivingMutant,
				Severity: check.SeverityWarning, Message: t.Mutant.Message()})
		}
	}
	for i, f := range m.Functions {
		if g := gates[f.File+"\x00"+f.Name]; g != nil && g.run > 0 {
			m.Functions[i].GateRun = true
			m.Functions[i].GateKilled = g.killed == g.run
		}
	}
	return out
}

// blockSet is the covered blocks of a profile, per worktree-relative file.
type blockSet map[string][][2]int

func (b blockSet) covers(rel string, start, end int) bool {
	for _, bl := range b[rel] {
		if bl[0] <= end && bl[1] >= start {
			return true
		}
	}
	return false
}

// coveredBlocks reads the line ranges of the blocks a profile saw run; nil
// when there is no profile (reach unknown).
func coveredBlocks(profile, modulePath string) blockSet {
	f, err := os.Open(profile)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := blockSet{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		colon := strings.LastIndexByte(line, ':')
		if strings.HasPrefix(line, "mode:") || colon < 0 {
			continue
		}
		fields := strings.Fields(line[colon+1:])
		if len(fields) != 3 || fields[2] == "0" {
			continue
		}
		se := strings.SplitN(fields[0], ",", 2)
		if len(se) != 2 {
			continue
		}
		l1, err1 := strconv.Atoi(strings.SplitN(se[0], ".", 2)[0])
		l2, err2 := strconv.Atoi(strings.SplitN(se[1], ".", 2)[0])
		if err1 != nil || err2 != nil {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(line[:colon], modulePath), "/")
		out[rel] = append(out[rel], [2]int{l1, l2})
	}
	return out
}

// dependents lists the package patterns to test for a change in package dir
// pd: the package itself and every package of the module that imports it.
func dependents(dir, modulePath, pd string) []string {
	target := modulePath
	if pd != "." {
		target = modulePath + "/" + pd
	}
	set := map[string]bool{"./" + pd: true}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			n := d.Name()
			if p != dir && (n == "vendor" || n == "testdata" || n == "node_modules" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return nil
		}
		for _, im := range f.Imports {
			if v, _ := strconv.Unquote(im.Path.Value); v == target {
				rel, _ := filepath.Rel(dir, filepath.Dir(p))
				set["./"+filepath.ToSlash(rel)] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, path.Clean(k))
	}
	for i, k := range out {
		if !strings.HasPrefix(k, ".") {
			out[i] = "./" + k
		}
	}
	slices.Sort(out)
	return out
}
