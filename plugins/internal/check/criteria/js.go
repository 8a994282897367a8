package criteria

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// jsWords are the identifiers a closed JS value may use.
var jsWords = []string{"true", "false", "null", "undefined", "NaN", "Infinity"}

// JS returns the criteria that are JavaScript/TypeScript examples calling
// one of funcs (functions the change exports), in the work order's order.
func JS(criteria []string, funcs []string) []Example {
	var out []Example
	for i, text := range criteria {
		s, ok := normalize(text)
		if !ok {
			continue
		}
		e, ok := jsExample(s, funcs)
		if !ok {
			continue
		}
		e.N, e.Text = i+1, text
		out = append(out, e)
	}
	return out
}

type jsToken struct {
	text       string
	kind       byte // 'i' identifier, 's' string, 'n' number, 'p' punctuation
	start, end int  // byte offsets in the criterion
}

var (
	jsIdent  = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*`)
	jsNumber = regexp.MustCompile(`^(?:0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)n?`)
	jsOps    = []string{"!==", "===", "!=", "==", "(", ")", "[", "]", "{", "}", ",", ":", "-", "+", "!"}
)

// jsTokens splits s into tokens, or fails on anything outside the closed
// subset (template strings with substitutions, regexps, operators).
func jsTokens(s string) ([]jsToken, bool) {
	var toks []jsToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				} else if c == '`' && s[j] == '$' && j+1 < len(s) && s[j+1] == '{' {
					return nil, false
				}
				j++
			}
			if j >= len(s) {
				return nil, false
			}
			toks = append(toks, jsToken{s[i : j+1], 's', i, j + 1})
			i = j + 1
		case jsNumber.MatchString(s[i:]) && (c != '.' || i+1 < len(s)):
			m := jsNumber.FindString(s[i:])
			toks = append(toks, jsToken{m, 'n', i, i + len(m)})
			i += len(m)
		case jsIdent.MatchString(s[i:]):
			m := jsIdent.FindString(s[i:])
			toks = append(toks, jsToken{m, 'i', i, i + len(m)})
			i += len(m)
		default:
			op := ""
			for _, o := range jsOps {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, false
			}
			toks = append(toks, jsToken{op, 'p', i, i + len(op)})
			i += len(op)
		}
	}
	return toks, true
}

// jsExample reads s as [!]f(args) [op value] with closed args and value.
func jsExample(s string, funcs []string) (Example, bool) {
	toks, ok := jsTokens(s)
	if !ok || len(toks) < 3 {
		return Example{}, false
	}
	negate := false
	if toks[0].text == "!" {
		negate, toks = true, toks[1:]
	}
	if len(toks) < 3 || toks[0].kind != 'i' || !slices.Contains(funcs, toks[0].text) || toks[1].text != "(" {
		return Example{}, false
	}
	// The call ends at its matching parenthesis.
	depth, end := 0, -1
	for i := 1; i < len(toks) && end < 0; i++ {
		switch toks[i].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				end = i
			}
		}
	}
	if end < 0 || !jsClosed(toks[2:end]) {
		return Example{}, false
	}
	e := Example{Func: toks[0].text, Call: s[toks[0].start:toks[end].end]}
	rest := toks[end+1:]
	switch {
	case len(rest) == 0 && negate:
		e.Op = False
	case len(rest) == 0:
		e.Op = True
	case negate:
		return Example{}, false // !f(x) === y: ambiguous precedence to a reader
	case len(rest) >= 2 && (rest[0].text == "===" || rest[0].text == "==" || rest[0].text == "!==" || rest[0].text == "!="):
		if !jsClosed(rest[1:]) || !balanced(rest[1:]) {
			return Example{}, false
		}
		e.Op, e.Want = Equal, strings.TrimSpace(s[rest[1].start:])
		if strings.HasPrefix(rest[0].text, "!") {
			e.Op = NotEqual
		}
	default:
		return Example{}, false
	}
	return e, true
}

// jsClosed: the tokens are literals, brackets, commas, object keys and
// signs only.
func jsClosed(toks []jsToken) bool {
	for i, t := range toks {
		switch t.kind {
		case 'i':
			key := i+1 < len(toks) && toks[i+1].text == ":"
			if !key && !slices.Contains(jsWords, t.text) {
				return false
			}
		case 'p':
			switch t.text {
			case "[", "]", "{", "}", ",", ":", "-", "+":
			default:
				return false
			}
		}
	}
	return true
}

func balanced(toks []jsToken) bool {
	depth := 0
	for _, t := range toks {
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// JSExports are the functions src exports by name (export function f,
// export const f =, export { f, g as h }).
func JSExports(src string) []string {
	var out []string
	add := func(n string) {
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, m := range jsExportDecl.FindAllStringSubmatch(src, -1) {
		add(m[1])
	}
	for _, m := range jsExportList.FindAllStringSubmatch(src, -1) {
		for _, part := range strings.Split(m[1], ",") {
			f := strings.Fields(part)
			switch {
			case len(f) == 1:
				add(f[0])
			case len(f) == 3 && f[1] == "as":
				add(f[2])
			}
		}
	}
	return out
}

var (
	jsExportDecl = regexp.MustCompile(`(?m)^\s*export\s+(?:async\s+)?(?:function\s*\*?\s*|const\s+|let\s+|var\s+)([A-Za-z_$][A-Za-z0-9_$]*)`)
	jsExportList = regexp.MustCompile(`(?m)^\s*export\s*\{([^}]*)\}\s*;?\s*$`)
)

// JSTestFile is a test file for examples of the functions module (an import
// specifier relative to the test file) exports: one test per example, named
// TestMooseCriterion<N>. vitest imports test and expect; jest has them as
// globals.
func JSTestFile(module string, vitest bool, examples []Example) string {
	var b strings.Builder
	b.WriteString("// Written by Moose from the work order's acceptance criteria, beside the\n// proposal's tests; never part of the change.\n")
	if vitest {
		b.WriteString("import { test, expect } from \"vitest\";\n")
	}
	fmt.Fprintf(&b, "import * as moose_subject from %s;\n", strconv.Quote(module))
	for _, e := range examples {
		call := "moose_subject." + e.Call
		var check string
		switch e.Op {
		case Equal:
			check = fmt.Sprintf("expect(%s).toEqual(%s);", call, e.Want)
		case NotEqual:
			check = fmt.Sprintf("expect(%s).not.toEqual(%s);", call, e.Want)
		case True:
			check = fmt.Sprintf("expect(Boolean(%s)).toBe(true);", call)
		case False:
			check = fmt.Sprintf("expect(Boolean(%s)).toBe(false);", call)
		}
		fmt.Fprintf(&b, "\ntest(%s, () => {\n  // %s\n  %s\n});\n", strconv.Quote(GoTestName(e.N)), strings.ReplaceAll(e.Describe(), "\n", " "), check)
	}
	return b.String()
}
