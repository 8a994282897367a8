package static

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/code"
)

// CategoryZeroValue is not a category of its own: a function whose body
// only returns zero values is reported as a stub (check.CategoryStub).

// Scan is Check widened from lines to functions and to the work order:
//
//   - a changed line makes its whole enclosing function count as changed,
//     so a TODO or empty body next to the edit is the change's;
//   - not-implemented stubs count anywhere in a touched file: a proposal
//     that edits around a panic("not implemented") has not done the work;
//   - a touched function that takes parameters and returns a non-error
//     result, but whose body only returns zero values, is a stub;
//   - every function the work order names (title, description or criteria;
//     see WorkOrderNames), in any source file of the worktree, is checked
//     whole: a not-implemented marker, a "TODO: implement", an empty body or
//     a body that only returns zero values there is a stub, whether or not
//     the proposal touched it.
func Scan(dir string, files []File, workOrder string) ([]check.Finding, error) {
	named := WorkOrderNames(workOrder)
	var out []check.Finding
	touched := map[string]bool{}
	for _, f := range files {
		rel := filepath.ToSlash(path.Clean(f.Path))
		touched[rel] = true
		data, ok, err := readSource(dir, rel)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		funcs := code.Funcs(rel, data)
		lines := f.Lines
		var inScope []code.Func
		if lines == nil {
			inScope = funcs
		} else {
			set := map[int]bool{}
			for _, l := range lines {
				set[l] = true
			}
			for _, fn := range funcs {
				if slices.ContainsFunc(lines, fn.Contains) {
					inScope = append(inScope, fn)
					for l := fn.StartLine; l <= fn.EndLine; l++ {
						set[l] = true
					}
				}
			}
			lines = lines[:0:0]
			for l := range set {
				lines = append(lines, l)
			}
		}
		out = append(out, checkFile(rel, data, lines)...)
		if check.IsTestFile(rel) {
			continue
		}
		for _, fn := range inScope {
			if fn.Params > 0 && hasValueResult(fn) && zeroBody(rel, data, fn) {
				out = append(out, zeroFinding(rel, fn, "changed function"))
			}
		}
		out = append(out, namedStubs(rel, data, funcs, named)...)
	}
	if len(named) > 0 {
		err := walkSources(dir, func(rel string, data []byte) {
			if touched[rel] || check.IsTestFile(rel) || !mentionsAny(data, named) {
				return
			}
			out = append(out, checkNamedOnly(rel, data, named)...)
		})
		if err != nil {
			return nil, err
		}
	}
	return sortFindings(dedupeFindings(out)), nil
}

// checkNamedOnly checks the named functions of an untouched file.
func checkNamedOnly(rel string, data []byte, named map[string]bool) []check.Finding {
	funcs := code.Funcs(rel, data)
	var out []check.Finding
	var mine []code.Func
	for _, fn := range funcs {
		if isNamed(fn, named) {
			mine = append(mine, fn)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	for _, f := range checkFile(rel, data, nil) {
		if f.Category == check.CategoryStub && slices.ContainsFunc(mine, func(fn code.Func) bool { return fn.Contains(f.Line) }) {
			out = append(out, f)
		}
	}
	return append(out, namedStubs(rel, data, funcs, named)...)
}

// namedStubs reports the functions of a file that the work order names and
// whose body is empty, only returns zero values, or says "TODO: implement".
func namedStubs(rel string, data []byte, funcs []code.Func, named map[string]bool) []check.Finding {
	var out []check.Finding
	have := checkFile(rel, data, nil)
	for _, fn := range funcs {
		if !isNamed(fn, named) {
			continue
		}
		// A stub already reported inside the function is enough.
		if slices.ContainsFunc(have, func(f check.Finding) bool { return f.Category == check.CategoryStub && fn.Contains(f.Line) }) {
			continue
		}
		body := string(data[max(fn.BodyStart, 0):min(fn.BodyEnd, len(data))])
		switch {
		case todoImplementRe.MatchString(body):
			out = append(out, check.Finding{File: rel, Line: fn.StartLine, Category: check.CategoryStub, Severity: check.SeverityError,
				Message: fmt.Sprintf("function %s, which the work order asks for, is still marked TODO: implement", fn.Name)})
		case emptyBody(rel, data, fn):
			out = append(out, check.Finding{File: rel, Line: fn.StartLine, Category: check.CategoryStub, Severity: check.SeverityError,
				Message: fmt.Sprintf("function %s, which the work order asks for, has an empty body: it is not implemented", fn.Name)})
		case zeroBody(rel, data, fn):
			out = append(out, zeroFinding(rel, fn, "function the work order asks for"))
		case throwOnlyBody(rel, data, fn):
			verb := "only throws"
			if code.IsGo(rel) {
				verb = "only panics"
			}
			out = append(out, check.Finding{File: rel, Line: fn.StartLine, Category: check.CategoryStub, Severity: check.SeverityError,
				Message: fmt.Sprintf("function %s, which the work order asks for, %s: it is not implemented", fn.Name, verb)})
		}
	}
	return out
}

func zeroFinding(rel string, fn code.Func, what string) check.Finding {
	return check.Finding{File: rel, Line: fn.StartLine, Category: check.CategoryStub, Severity: check.SeverityError,
		Message: fmt.Sprintf("%s %s only returns zero values: a stub, not an implementation", what, fn.Name)}
}

func isNamed(fn code.Func, named map[string]bool) bool {
	return named[fn.Name] || named[code.ShortName(fn.Name)]
}

// hasValueResult: the function declares a result other than error (Go), or
// declares a non-void return type, or (JS without types) may return one.
func hasValueResult(fn code.Func) bool {
	if len(fn.Results) == 0 {
		return false
	}
	for _, r := range fn.Results {
		switch strings.TrimSpace(r) {
		case "error", "void", "Promise<void>", "never", "undefined":
		default:
			return true
		}
	}
	return false
}

// emptyBody: a block body with nothing in it.
func emptyBody(rel string, data []byte, fn code.Func) bool {
	if fn.BodyStart < 0 || fn.BodyEnd > len(data) || fn.BodyEnd-fn.BodyStart < 2 || data[fn.BodyStart] != '{' {
		return false
	}
	if code.IsJS(rel) {
		return len(code.Tokenize(data[fn.BodyStart+1:fn.BodyEnd-1])) == 0
	}
	return strings.TrimSpace(stripGoComments(string(data[fn.BodyStart+1:fn.BodyEnd-1]))) == ""
}

func stripGoComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
	}
	return b.String()
}

// zeroBody: the body's only statement returns zero values (0, "", nil,
// false, an empty literal, *new(T), undefined, null), or, for an arrow
// function, its expression is one.
func zeroBody(rel string, data []byte, fn code.Func) bool {
	if fn.BodyStart < 0 || fn.BodyEnd > len(data) || fn.BodyStart >= fn.BodyEnd {
		return false
	}
	body := data[fn.BodyStart:fn.BodyEnd]
	if code.IsGo(rel) {
		return goZeroBody(body)
	}
	toks := code.Tokenize(body)
	if len(toks) == 0 {
		return false
	}
	if toks[0].Text != "{" { // arrow expression body
		return jsZero(toks)
	}
	toks = toks[1 : len(toks)-1]
	if len(toks) > 0 && toks[len(toks)-1].Text == ";" {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 || toks[0].Text != "return" {
		return false
	}
	return len(toks) == 1 || jsZero(toks[1:])
}

func jsZero(toks []code.Token) bool {
	for len(toks) >= 2 && toks[0].Text == "(" && toks[len(toks)-1].Text == ")" {
		toks = toks[1 : len(toks)-1]
	}
	if len(toks) >= 3 && toks[len(toks)-2].Text == "as" { // x as T
		toks = toks[:len(toks)-2]
	}
	var s strings.Builder
	for _, t := range toks {
		s.WriteString(t.Text)
	}
	switch s.String() {
	case "undefined", "null", "0", `""`, "''", "``", "false", "[]", "{}", "0n", "NaN", "voiddone", "void0":
		return true
	}
	return jsEmptyCollection(toks)
}

// jsEmptyCollection: `new Map()`, `new Set<string>()`, `new Array()`: an
// empty collection is a collection's zero value.
func jsEmptyCollection(toks []code.Token) bool {
	if len(toks) < 4 || toks[0].Text != "new" {
		return false
	}
	switch toks[1].Text {
	case "Map", "Set", "WeakMap", "WeakSet", "Array", "Object":
	default:
		return false
	}
	rest := toks[2:]
	if rest[0].Text == "<" { // type arguments
		depth := 0
		for i, t := range rest {
			if t.Text == "<" {
				depth++
			} else if t.Text == ">" {
				depth--
			}
			if depth == 0 {
				rest = rest[i+1:]
				break
			}
		}
	}
	return len(rest) == 2 && rest[0].Text == "(" && rest[1].Text == ")"
}

// throwOnlyBody: the body's only statement throws (JS/TS) or panics (Go),
// whatever its message: the shape of a placeholder, and the body a mutant
// that "replaces the body with a panic" would leave.
func throwOnlyBody(rel string, data []byte, fn code.Func) bool {
	if fn.BodyStart < 0 || fn.BodyEnd > len(data) || fn.BodyEnd-fn.BodyStart < 2 || data[fn.BodyStart] != '{' {
		return false
	}
	body := data[fn.BodyStart:fn.BodyEnd]
	if code.IsGo(rel) {
		st, ok := goOnlyStmt(body).(*ast.ExprStmt)
		if !ok {
			return false
		}
		call, ok := st.X.(*ast.CallExpr)
		if !ok {
			return false
		}
		id, ok := call.Fun.(*ast.Ident)
		return ok && id.Name == "panic"
	}
	if !code.IsJS(rel) {
		return false
	}
	toks := code.Tokenize(body)
	if len(toks) < 3 {
		return false
	}
	toks = toks[1 : len(toks)-1]
	if len(toks) > 0 && toks[len(toks)-1].Text == ";" {
		toks = toks[:len(toks)-1]
	}
	if len(toks) < 2 || toks[0].Text != "throw" {
		return false
	}
	for _, t := range toks[1:] {
		if t.Text == ";" || t.Text == "{" || t.Text == "}" {
			return false // another statement, or a block or function inside
		}
	}
	return true
}

// goOnlyStmt is the only statement of a Go function body ({…}), or nil
// when it has none, several, or does not parse.
func goOnlyStmt(body []byte) ast.Stmt {
	src := append([]byte("package p\nfunc _() "), body...)
	f, err := parser.ParseFile(token.NewFileSet(), "b.go", src, parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return nil
	}
	fd, ok := f.Decls[0].(*ast.FuncDecl)
	if !ok || len(fd.Body.List) != 1 {
		return nil
	}
	return fd.Body.List[0]
}

func goZeroBody(body []byte) bool {
	ret, ok := goOnlyStmt(body).(*ast.ReturnStmt)
	if !ok || len(ret.Results) == 0 {
		return false
	}
	for _, r := range ret.Results {
		if !goZeroExpr(r) {
			return false
		}
	}
	return true
}

func goZeroExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return goZeroExpr(x.X)
	case *ast.BasicLit:
		switch x.Kind {
		case token.INT, token.FLOAT:
			return strings.Trim(x.Value, "0._xXoObB") == ""
		case token.STRING:
			return x.Value == `""` || x.Value == "``"
		case token.CHAR:
			return x.Value == `'\x00'` || x.Value == `'\000'`
		}
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "false"
	case *ast.CompositeLit:
		return len(x.Elts) == 0
	case *ast.StarExpr:
		c, ok := x.X.(*ast.CallExpr)
		if ok {
			id, ok := c.Fun.(*ast.Ident)
			return ok && id.Name == "new"
		}
	case *ast.CallExpr: // T(0), string(""), make(map[K]V), make([]T, 0)
		if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "make" {
			return len(x.Args) == 1 || len(x.Args) == 2 && goZeroExpr(x.Args[1])
		}
		if len(x.Args) == 1 {
			if _, ok := x.Fun.(*ast.Ident); ok {
				return goZeroExpr(x.Args[0])
			}
		}
	}
	return false
}

// WorkOrderNames extracts the identifiers a work order's text may name as
// functions: every identifier-shaped word except a sentence's first word,
// which is usually an English verb ("Add", "Fix"), unless it is written as
// code (`Name`, Name(), camelCase, snake_case, Type.Method). Matching them
// against function names is what makes them names: a word that names no
// function costs nothing.
func WorkOrderNames(text string) map[string]bool {
	out := map[string]bool{}
	first := true
	runes := []rune(text)
	for i := 0; i < len(runes); {
		r := runes[i]
		if !isWordStart(r) {
			if r == '.' || r == '!' || r == '?' || r == '\n' || r == ':' {
				first = true
			}
			i++
			continue
		}
		j := i
		for j < len(runes) && (isWordPart(runes[j]) || runes[j] == '.' && j+1 < len(runes) && isWordStart(runes[j+1])) {
			j++
		}
		word := string(runes[i:j])
		codeLike := (i > 0 && runes[i-1] == '`') || (j < len(runes) && runes[j] == '(') || looksLikeCode(word)
		if len(word) >= 2 && (!first || codeLike) {
			out[word] = true
			for _, part := range strings.Split(word, ".") {
				if len(part) >= 2 {
					out[part] = true
				}
			}
		}
		first = false
		i = j
	}
	return out
}

func isWordStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }
func isWordPart(r rune) bool  { return isWordStart(r) || unicode.IsDigit(r) }

func looksLikeCode(w string) bool {
	if strings.ContainsAny(w, "_.$") {
		return true
	}
	for i, r := range w {
		if i > 0 && unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

func mentionsAny(data []byte, names map[string]bool) bool {
	for n := range names {
		if bytes.Contains(data, []byte(n)) {
			return true
		}
	}
	return false
}

// skipDirs are never walked for named functions: dependencies and output.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, "dist": true, "build": true,
	".next": true, "coverage": true, "testdata": true}

func walkSources(dir string, fn func(rel string, data []byte)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are skipped, not fatal
		}
		if d.IsDir() {
			if p != dir && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if !code.IsGo(rel) && !code.IsJS(rel) || strings.HasSuffix(rel, ".d.ts") {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > MaxFileSize || !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		fn(rel, data)
		return nil
	})
}

func readSource(dir, rel string) ([]byte, bool, error) {
	if strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return nil, false, fmt.Errorf("static check %s: path outside worktree", rel)
	}
	full := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Stat(full)
	if err != nil || fi.IsDir() || fi.Size() > MaxFileSize {
		return nil, false, nil
	}
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, false, fmt.Errorf("static check %s: %w", rel, err)
	}
	return data, true, nil
}

func dedupeFindings(fs []check.Finding) []check.Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := fmt.Sprintf("%s:%d:%s", f.File, f.Line, f.Category)
		if f.Category == check.CategoryStub {
			// One stub per function line is enough; keep the first message.
			if seen[k] {
				continue
			}
		} else if seen[k+f.Message] {
			continue
		}
		seen[k], seen[k+f.Message] = true, true
		out = append(out, f)
	}
	return out
}

func sortFindings(out []check.Finding) []check.Finding {
	slices.SortStableFunc(out, func(a, b check.Finding) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return out
}
