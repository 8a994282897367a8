package code

import (
	"strings"
)

// TokKind classifies a JS/TS token.
type TokKind int

// Token kinds.
const (
	TokIdent TokKind = iota
	TokNumber
	TokString // '...', "..." and template literals (whole, ${} included)
	TokRegex
	TokPunct
)

// Token is one JS/TS token: Src[Start:End].
type Token struct {
	Kind       TokKind
	Text       string
	Start, End int
	// NewlineBefore: a line break separates this token from the previous one.
	NewlineBefore bool
}

// puncts are the multi-character punctuators, longest first.
var puncts = []string{
	">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=",
	"&=", "|=", "^=", "**", "<<", ">>",
}

// regexAfter are keywords after which a slash starts a regular expression.
var regexAfter = map[string]bool{"return": true, "typeof": true, "case": true, "do": true, "else": true,
	"in": true, "of": true, "new": true, "delete": true, "void": true, "throw": true, "yield": true, "await": true}

// Tokenize splits JS/TS source into tokens, skipping comments and whitespace.
// It never fails: an unterminated string or comment ends at the end of input.
func Tokenize(src []byte) []Token {
	s := string(src)
	var out []Token
	nl := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			nl = true
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				if strings.Contains(s[i:i+2+end], "\n") {
					nl = true
				}
				i += end + 4
			}
			continue
		}
		start := i
		var kind TokKind
		switch {
		case c == '"' || c == '\'':
			i = skipQuoted(s, i)
			kind = TokString
		case c == '`':
			i = skipTemplate(s, i)
			kind = TokString
		case isIdentStart(c):
			for i < len(s) && isIdentPart(s[i]) {
				i++
			}
			kind = TokIdent
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			for i < len(s) && (isIdentPart(s[i]) || s[i] == '.') {
				i++
			}
			kind = TokNumber
		case c == '/' && slashIsRegex(out):
			i = skipRegex(s, i)
			kind = TokRegex
		default:
			kind = TokPunct
			i++
			for _, p := range puncts {
				if strings.HasPrefix(s[start:], p) {
					i = start + len(p)
					break
				}
			}
		}
		out = append(out, Token{Kind: kind, Text: s[start:i], Start: start, End: i, NewlineBefore: nl})
		nl = false
	}
	return out
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func slashIsRegex(prev []Token) bool {
	if len(prev) == 0 {
		return true
	}
	p := prev[len(prev)-1]
	switch p.Kind {
	case TokNumber, TokString, TokRegex:
		return false
	case TokIdent:
		return regexAfter[p.Text]
	}
	return p.Text != ")" && p.Text != "]" && p.Text != "}"
}

func skipQuoted(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i + 1
		case '\n':
			return i
		}
	}
	return len(s)
}

// skipTemplate skips a template literal, nested ${...} expressions included.
func skipTemplate(s string, i int) int {
	for i++; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '`':
			return i + 1
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			i = skipCode(s, i+2) - 1
		}
	}
	return len(s)
}

// skipCode skips code up to and including the '}' that closes depth 0.
func skipCode(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\'':
			i = skipQuoted(s, i)
			continue
		case c == '`':
			i = skipTemplate(s, i)
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			if end := strings.Index(s[i+2:], "*/"); end >= 0 {
				i += end + 4
			} else {
				i = len(s)
			}
			continue
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i + 1
			}
			depth--
		}
		i++
	}
	return len(s)
}

func skipRegex(s string, i int) int {
	inClass := false
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			inClass = true
		case ']':
			inClass = false
		case '/':
			if !inClass {
				i++
				for i < len(s) && isIdentPart(s[i]) {
					i++
				}
				return i
			}
		case '\n':
			return i
		}
	}
	return len(s)
}

// match returns the index of the token closing the bracket at toks[i], or -1.
func match(toks []Token, i int) int {
	open := toks[i].Text
	closeWith := map[string]string{"(": ")", "[": "]", "{": "}"}[open]
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].Kind != TokPunct {
			continue
		}
		switch toks[j].Text {
		case open:
			depth++
		case closeWith:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

var notMethods = map[string]bool{"if": true, "for": true, "while": true, "switch": true, "catch": true,
	"with": true, "function": true, "return": true, "typeof": true, "await": true, "new": true, "super": true, "import": true}

var modifiers = map[string]bool{"async": true, "static": true, "get": true, "set": true, "public": true,
	"private": true, "protected": true, "readonly": true, "override": true, "export": true, "default": true, "abstract": true}

// JSFunc is a function found by JSFuncs, with its token span.
type JSFunc struct {
	Func
	// Expr marks an expression-bodied arrow function: Body spans the expression.
	Expr bool
}

// JSFuncs finds the functions of a JS/TS file.
func JSFuncs(src []byte) []Func {
	var out []Func
	for _, f := range JSFuncsDetailed(src) {
		out = append(out, f.Func)
	}
	return out
}

// JSFuncsDetailed finds the functions of a JS/TS file: function declarations
// and expressions, class and object methods, and arrow functions.
func JSFuncsDetailed(src []byte) []JSFunc {
	toks := Tokenize(src)
	lines := lineStarts(src)
	var out []JSFunc
	seen := map[int]bool{} // body start offsets
	add := func(name string, startTok, openParen, closeParen, afterParams int) {
		// afterParams is the token after ")" (and after a return type, if any).
		if afterParams >= len(toks) {
			return
		}
		fn := JSFunc{Func: Func{Name: name, Params: countParams(toks, openParen, closeParen)}}
		if rt := returnType(src, toks, closeParen, afterParams); rt != "" {
			fn.Results = []string{rt}
		}
		t := toks[afterParams]
		if t.Text == "=>" {
			if afterParams+1 >= len(toks) {
				return
			}
			afterParams++
			t = toks[afterParams]
			if t.Text != "{" || t.Kind != TokPunct {
				end := exprEnd(toks, afterParams)
				fn.Expr = true
				fn.BodyStart, fn.BodyEnd = t.Start, toks[end].End
				fn.StartLine, fn.EndLine = lineOf(lines, toks[startTok].Start), lineOf(lines, toks[end].Start)
				if !seen[fn.BodyStart] {
					seen[fn.BodyStart] = true
					out = append(out, fn)
				}
				return
			}
		}
		if t.Text != "{" || t.Kind != TokPunct {
			return
		}
		end := match(toks, afterParams)
		if end < 0 || seen[t.Start] {
			return
		}
		seen[t.Start] = true
		fn.BodyStart, fn.BodyEnd = t.Start, toks[end].End
		fn.StartLine, fn.EndLine = lineOf(lines, toks[startTok].Start), lineOf(lines, toks[end].Start)
		out = append(out, fn)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.Kind == TokIdent && t.Text == "function" {
			j := i + 1
			if j < len(toks) && toks[j].Text == "*" {
				j++
			}
			name := ""
			if j < len(toks) && toks[j].Kind == TokIdent {
				name = toks[j].Text
				j++
			} else {
				name = boundName(toks, i)
			}
			j = skipGenerics(toks, j)
			if j < len(toks) && toks[j].Text == "(" {
				if c := match(toks, j); c > 0 {
					add(name, i, j, c, afterReturnType(toks, c+1, false))
				}
			}
			continue
		}
		if t.Kind != TokPunct || t.Text != "(" {
			continue
		}
		c := match(toks, i)
		if c < 0 {
			continue
		}
		// Arrow function: (params) [: T] => body.
		if a := afterReturnType(toks, c+1, true); a < len(toks) && toks[a].Text == "=>" {
			k := i - 1
			for k >= 0 && toks[k].Text == ">" { // generic parameters <T>
				for k >= 0 && toks[k].Text != "<" {
					k--
				}
				k--
			}
			if k >= 0 && toks[k].Text == "async" {
				k--
			}
			add(boundName(toks, k+1), max(k+1, 0), i, c, a)
			continue
		}
		// Method: name(params) [: T] { at the start of a member.
		k := i - 1
		if k >= 0 && toks[k].Text == ">" {
			for k >= 0 && toks[k].Text != "<" {
				k--
			}
			k--
		}
		if k < 0 || toks[k].Kind != TokIdent || notMethods[toks[k].Text] {
			continue
		}
		p := k - 1
		for p >= 0 && (modifiers[toks[p].Text] || toks[p].Text == "*") {
			p--
		}
		if p >= 0 && toks[p].Kind == TokPunct && toks[p].Text != "{" && toks[p].Text != "}" && toks[p].Text != ";" && toks[p].Text != "," {
			continue
		}
		if p >= 0 && toks[p].Kind != TokPunct {
			continue
		}
		if a := afterReturnType(toks, c+1, false); a < len(toks) && toks[a].Text == "{" {
			add(toks[k].Text, p+1, i, c, a)
		}
	}
	// Single-parameter arrow functions: x => body.
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].Kind == TokIdent && toks[i+1].Text == "=>" && (i == 0 || toks[i-1].Text != ")") {
			k := i - 1
			if k >= 0 && toks[k].Text == "async" {
				k--
			}
			add(boundName(toks, k+1), max(k+1, 0), i, i, i+1)
		}
	}
	return out
}

// boundName is the name a function expression starting at toks[i] is bound
// to: `const name = ...`, `name: ...` or `this.name = ...`; "" when anonymous.
func boundName(toks []Token, i int) string {
	if i-2 >= 0 && (toks[i-1].Text == "=" || toks[i-1].Text == ":") && toks[i-2].Kind == TokIdent {
		return toks[i-2].Text
	}
	return ""
}

func skipGenerics(toks []Token, j int) int {
	if j < len(toks) && toks[j].Text == "<" {
		depth := 0
		for ; j < len(toks); j++ {
			switch toks[j].Text {
			case "<":
				depth++
			case ">":
				depth--
			case ">>":
				depth -= 2
			}
			if depth <= 0 {
				return j + 1
			}
		}
	}
	return j
}

// afterReturnType skips an optional ": Type" after a parameter list and
// returns the index of the token after it. For arrows (arrow true) the type
// ends at "=>"; otherwise at the "{" that opens the body, outside brackets.
func afterReturnType(toks []Token, j int, arrow bool) int {
	if j >= len(toks) || toks[j].Text != ":" {
		return j
	}
	depth := 0
	for k := j + 1; k < len(toks); k++ {
		switch toks[k].Text {
		case "(", "[", "<":
			depth++
		case ")", "]", ">":
			depth--
		case "{":
			if depth == 0 && !arrow && k > j+1 && toks[k-1].Text != "|" && toks[k-1].Text != "&" && toks[k-1].Text != "<" {
				return k
			}
			if c := match(toks, k); c > 0 {
				k = c
			}
		case "=>":
			if depth == 0 && arrow {
				return k
			}
		case ";", "=":
			if depth == 0 {
				return k
			}
		}
		if depth < 0 {
			return k
		}
	}
	return len(toks)
}

func returnType(src []byte, toks []Token, closeParen, after int) string {
	if closeParen+1 < after && toks[closeParen+1].Text == ":" && after-1 > closeParen+1 {
		return strings.TrimSpace(string(src[toks[closeParen+2].Start:toks[after-1].End]))
	}
	return ""
}

func countParams(toks []Token, open, closeParen int) int {
	if open == closeParen { // x => ...
		return 1
	}
	if closeParen == open+1 {
		return 0
	}
	n, depth := 1, 0
	for k := open + 1; k < closeParen; k++ {
		switch toks[k].Text {
		case "(", "[", "{", "<":
			depth++
		case ")", "]", "}", ">":
			depth--
		case ",":
			if depth == 0 && k+1 < closeParen {
				n++
			}
		}
	}
	return n
}

// exprEnd is the last token of an arrow function's expression body starting
// at toks[i]: it ends before a ";" or "," or an unmatched closing bracket at
// depth 0, or at a line break that ends the statement.
func exprEnd(toks []Token, i int) int {
	depth := 0
	for k := i; k < len(toks); k++ {
		t := toks[k]
		if k > i && depth == 0 && t.NewlineBefore && t.Kind != TokPunct && toks[k-1].Kind != TokPunct {
			return k - 1
		}
		if t.Kind != TokPunct {
			continue
		}
		switch t.Text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				return k - 1
			}
			depth--
		case ";", ",":
			if depth == 0 {
				return k - 1
			}
		}
	}
	return len(toks) - 1
}

func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf is the 1-based line of a byte offset.
func lineOf(starts []int, off int) int {
	lo, hi := 0, len(starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1
}

// LineOf is the 1-based line of byte offset off in src.
func LineOf(src []byte, off int) int { return lineOf(lineStarts(src), off) }
