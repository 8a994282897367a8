// Package criteria finds the work order's acceptance criteria that are
// executable examples, such as
//
//	Truncate("héllo", 5) == "héllo"
//	!IsLeap(1900)
//	wrapIndex(-1, 5) === 4
//	ToRoman(1994) returns "MCMXCIV"
//
// and writes them as tests that Moose runs beside the proposal's own. A
// proposal's tests can agree with a wrong implementation (every mutant of it
// killed, yet the behaviour wrong); the work order's own examples do not
// come from the proposal, so they still catch it.
//
// Only closed examples qualify: one call of a function the change declares,
// compared with (or, alone, taken as) a value written with literals only: no
// variables, no other calls (Go conversions to builtin types excepted). A
// criterion in prose, one with several results ("== {255 136 0}, true") or
// one that names anything else is left to the reviewer. An example that does
// not compile against the proposal (say, the function returns two values) is
// dropped as not checkable, never held against the proposal.
package criteria

import (
	"fmt"
	"regexp"
	"strings"
)

// Op is how an example's call is judged.
type Op int

// Ops.
const (
	// Equal: the call's result equals Want.
	Equal Op = iota
	// NotEqual: the call's result differs from Want.
	NotEqual
	// True: the call's result is true (truthy in JS).
	True
	// False: the call's result is false (falsy in JS).
	False
)

// Example is one executable criterion.
type Example struct {
	// N is the criterion's position in the work order (1-based).
	N int
	// Text is the criterion as the work order wrote it.
	Text string
	// Func is the called function; Call the call expression and Want the
	// expected value expression (empty for True and False), both in the
	// project's language.
	Func, Call, Want string
	Op               Op
}

// Describe says what the example expects, for findings.
func (e Example) Describe() string {
	return fmt.Sprintf("acceptance criterion %d (%s)", e.N, strings.TrimSpace(e.Text))
}

// words are the prose forms of "==" a criterion may use.
var words = regexp.MustCompile(`\s+(?:returns|should return|must return|gives|yields|is equal to|equals)\s+`)

// normalize strips a criterion of markdown code spans and a trailing
// period, and turns one prose "returns" into "==". ok is false when the
// text has more than one.
func normalize(text string) (string, bool) {
	s := strings.TrimSpace(text)
	s = strings.TrimSuffix(s, ".")
	if strings.Count(s, "`") == 2 && strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") {
		s = strings.Trim(s, "`")
	}
	if locs := words.FindAllStringIndex(s, -1); len(locs) > 1 {
		return "", false
	} else if len(locs) == 1 {
		lhs, rhs := strings.TrimSpace(s[:locs[0][0]]), strings.TrimSpace(s[locs[0][1]:])
		lhs, rhs = strings.Trim(lhs, "`"), strings.Trim(rhs, "`")
		s = lhs + " == " + rhs
	}
	return s, s != ""
}
