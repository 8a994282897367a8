package mutate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check/code"
)

var jsFlip = map[string]string{"<": ">=", ">=": "<", ">": "<=", "<=": ">", "===": "!==", "!==": "===", "==": "!=", "!=": "=="}
var jsBoundary = map[string]string{"<": "<=", "<=": "<", ">": ">=", ">=": ">"}
var jsBool = map[string]string{"&&": "||", "||": "&&"}
var jsArith = map[string]string{"+": "-", "-": "+", "*": "/", "/": "*", "%": "*", "+=": "-=", "-=": "+="}

// JS returns the mutants of the functions of a TS/JS file that intersect
// lines (nil: every function). Binary operators are mutated only where they
// are written as binary operators are formatted (a space on each side), which
// keeps TypeScript's generic brackets (Array<T>) and unary signs out.
func JS(rel string, src []byte, lines []int) ([]Mutant, []Target) {
	if !code.IsJS(rel) || strings.HasSuffix(rel, ".d.ts") {
		return nil, nil
	}
	ts := strings.HasSuffix(rel, ".ts") || strings.HasSuffix(rel, ".tsx") || strings.HasSuffix(rel, ".mts") || strings.HasSuffix(rel, ".cts")
	var out []Mutant
	var targets []Target
	funcs := code.JSFuncsDetailed(src)
	for fi, fn := range funcs {
		if fn.Name == "" || !inScope(lines, fn.StartLine, fn.EndLine) || fn.BodyStart < 0 || fn.BodyEnd > len(src) {
			continue
		}
		// A function nested in another one in scope is mutated as part of it.
		if nestedIn(funcs, fi) {
			continue
		}
		targets = append(targets, Target{File: rel, Func: fn.Name, StartLine: fn.StartLine, EndLine: fn.EndLine})
		mk := func(kind, desc string, off int, e Edit) Mutant {
			return Mutant{File: rel, Line: code.LineOf(src, off), Func: fn.Name, Kind: kind, Desc: desc, Edits: []Edit{e}}
		}
		zero := jsZero(fn.Results, ts)
		throw := `{ throw new Error("moose mutant: ` + fn.Name + ` throws"); }`
		if fn.Expr {
			// An expression body becomes an expression: (zero) / an IIFE that throws.
			out = append(out, mk(KindZeroValue, "returns zero values", fn.BodyStart, Edit{fn.BodyStart, fn.BodyEnd, "(" + zero + ")"}))
			out = append(out, mk(KindPanic, "throws", fn.BodyStart, Edit{fn.BodyStart, fn.BodyEnd, "(() => " + throw + ")()"}))
		} else {
			body := strings.Join(strings.Fields(string(src[fn.BodyStart:fn.BodyEnd])), "")
			if body != "{return"+strings.ReplaceAll(zero, " ", "")+";}" && body != "{}" {
				z := "{ return " + zero + "; }"
				if voidResult(fn.Results) {
					z = "{}"
				}
				out = append(out, mk(KindZeroValue, "returns zero values", fn.BodyStart, Edit{fn.BodyStart, fn.BodyEnd, z}))
			}
			out = append(out, mk(KindPanic, "throws", fn.BodyStart, Edit{fn.BodyStart, fn.BodyEnd, throw}))
		}
		body := src[fn.BodyStart:fn.BodyEnd]
		for _, t := range code.Tokenize(body) {
			a, b := fn.BodyStart+t.Start, fn.BodyStart+t.End
			spaced := a > 0 && b < len(src) && isSpace(src[a-1]) && isSpace(src[b])
			switch t.Kind {
			case code.TokPunct:
				if to, ok := jsFlip[t.Text]; ok && spaced {
					out = append(out, mk(KindComparison, fmt.Sprintf("`%s` → `%s`", t.Text, to), a, Edit{a, b, to}))
				}
				if to, ok := jsBoundary[t.Text]; ok && spaced {
					out = append(out, mk(KindBoundary, fmt.Sprintf("`%s` → `%s`", t.Text, to), a, Edit{a, b, to}))
				}
				if to, ok := jsBool[t.Text]; ok {
					out = append(out, mk(KindBoolean, fmt.Sprintf("`%s` → `%s`", t.Text, to), a, Edit{a, b, to}))
				}
				if to, ok := jsArith[t.Text]; ok && spaced {
					out = append(out, mk(KindArithmetic, fmt.Sprintf("`%s` → `%s`", t.Text, to), a, Edit{a, b, to}))
				}
				if t.Text == "!" && b < len(src) && !isSpace(src[b]) && src[b] != '=' {
					out = append(out, mk(KindBoolean, "`!` removed", a, Edit{a, b, ""}))
				}
			case code.TokNumber:
				if v, err := strconv.ParseInt(t.Text, 10, 64); err == nil {
					out = append(out, mk(KindConstant, fmt.Sprintf("`%s` → `%d`", t.Text, v+1), a, Edit{a, b, strconv.FormatInt(v+1, 10)}))
				}
			}
		}
	}
	return out, targets
}

func nestedIn(funcs []code.JSFunc, i int) bool {
	f := funcs[i]
	for j, g := range funcs {
		if j != i && g.Name != "" && g.BodyStart <= f.BodyStart && f.BodyEnd <= g.BodyEnd && (g.BodyStart != f.BodyStart || g.BodyEnd != f.BodyEnd) {
			return true
		}
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func voidResult(results []string) bool {
	if len(results) == 0 {
		return false
	}
	r := strings.TrimSpace(results[0])
	return r == "void" || r == "Promise<void>" || r == "never"
}

// jsZero is the zero value of a declared return type ("undefined" when
// unknown), cast in TypeScript so that a typed runner accepts it.
func jsZero(results []string, ts bool) string {
	z := "undefined"
	if len(results) > 0 {
		r := strings.TrimSpace(results[0])
		switch {
		case r == "number":
			z = "0"
		case r == "string":
			z = `""`
		case r == "boolean":
			z = "false"
		case r == "bigint":
			z = "0n"
		case strings.HasSuffix(r, "[]") || strings.HasPrefix(r, "Array<") || strings.HasPrefix(r, "ReadonlyArray<"):
			z = "[]"
		case r == "null":
			z = "null"
		}
	}
	if ts && z == "undefined" {
		return "undefined as any"
	}
	return z
}
