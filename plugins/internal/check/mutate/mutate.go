// Package mutate writes mutants of the functions a change touched: versions
// of the code that are wrong in small, typical ways. A test suite that still
// passes on a mutant does not prove the behaviour the mutant broke; running
// the tests against mutants is how Moose measures test strength.
//
// Mutants are source edits (byte ranges replaced), so the rest of the file
// keeps its exact formatting and comments. Go mutants are found on go/ast;
// TypeScript and JavaScript mutants on the token stream of package code.
//
// Operators, in the order they are tried for each function:
//
//	zero_value  the body returns zero values (0, "", nil, false, *new(T));
//	            for a function without results, the body is emptied
//	panic       the body panics (Go) / throws (JS)
//	comparison  < ↔ >=, > ↔ <=, == ↔ != (=== ↔ !== in JS)
//	boundary    < ↔ <=, > ↔ >=
//	boolean     && ↔ ||, !x → x
//	constant    an integer literal n becomes n+1
//	statement   a call, assignment or ++/-- statement is removed (Go)
//	arithmetic  + ↔ -, * ↔ /, % → *, and their assignment forms
//
// zero_value and panic are the gate mutants: a suite that cannot tell a
// function from one that returns nothing, or from one that crashes, does not
// test it at all.
package mutate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Mutant kinds.
const (
	KindZeroValue  = "zero_value"
	KindPanic      = "panic"
	KindComparison = "comparison"
	KindBoundary   = "boundary"
	KindBoolean    = "boolean"
	KindConstant   = "constant"
	KindStatement  = "statement"
	KindArithmetic = "arithmetic"
)

// IsGate reports whether a kind is one of the gate mutants.
func IsGate(kind string) bool { return kind == KindZeroValue || kind == KindPanic }

// Edit replaces Src[Start:End] with Text.
type Edit struct {
	Start, End int
	Text       string
}

// Mutant is one mutated version of a file.
type Mutant struct {
	File string // relative to the worktree, forward slashes
	Line int
	Func string
	Kind string
	// Desc says what changed, for people: "returns zero values", "`<` → `>=`".
	Desc  string
	Edits []Edit
}

// Apply returns src with the mutant's edits applied.
func (m Mutant) Apply(src []byte) []byte {
	edits := slices.Clone(m.Edits)
	sort.Slice(edits, func(i, j int) bool { return edits[i].Start > edits[j].Start })
	out := slices.Clone(src)
	for _, e := range edits {
		if e.Start < 0 || e.End > len(out) || e.Start > e.End {
			continue
		}
		out = append(out[:e.Start], append([]byte(e.Text), out[e.End:]...)...)
	}
	return out
}

// Message is the finding text for a surviving mutant, addressed to whoever
// wrote the tests.
func (m Mutant) Message() string {
	switch m.Kind {
	case KindZeroValue:
		return fmt.Sprintf("tests still pass when %s returns zero values: no test checks what it returns", m.Func)
	case KindPanic:
		return fmt.Sprintf("tests still pass when %s panics (throws): no test calls it", m.Func)
	}
	return fmt.Sprintf("tests still pass when %s is changed at line %d (%s: %s): no test fails on this broken version", m.Func, m.Line, m.Kind, m.Desc)
}

// Target is a function whose mutants were generated.
type Target struct {
	File               string
	Func               string
	StartLine, EndLine int
}

// Select picks at most n mutants: every function's gate mutants first, then
// the other mutants round-robin across functions, so a small budget still
// reaches every function.
func Select(ms []Mutant, n int) []Mutant {
	if n <= 0 || len(ms) <= n {
		return ms
	}
	var gate []Mutant
	byFunc := map[string][]Mutant{}
	var order []string
	for _, m := range ms {
		key := m.File + "\x00" + m.Func
		if IsGate(m.Kind) {
			gate = append(gate, m)
			continue
		}
		if _, ok := byFunc[key]; !ok {
			order = append(order, key)
		}
		byFunc[key] = append(byFunc[key], m)
	}
	out := gate
	if len(out) >= n {
		return out[:n]
	}
	for i := 0; len(out) < n; i++ {
		added := false
		for _, k := range order {
			if i < len(byFunc[k]) {
				out = append(out, byFunc[k][i])
				added = true
				if len(out) == n {
					break
				}
			}
		}
		if !added {
			break
		}
	}
	return out
}

// inScope reports whether a function spanning [start, end] is among the
// changed code: lines nil means the whole file changed.
func inScope(lines []int, start, end int) bool {
	if lines == nil {
		return true
	}
	for _, l := range lines {
		if l >= start && l <= end {
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
