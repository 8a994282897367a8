// Package static runs language-agnostic checks over the files a change touched: leftover
// TODO/FIXME/XXX markers, "not implemented" stubs, empty function bodies, debug prints in
// library code, and files the change emptied. These are the marks of skeletal generated code
// that compiles but does nothing.
//
// Go files are inspected with go/parser (comments, string literals and function bodies are
// known exactly); TypeScript and JavaScript with line-oriented regular expressions that
// skip obvious comments; other source files get the marker and stub checks only. Only
// findings on changed lines are reported when the change's line numbers are known (see
// AddedLines), so a pre-existing TODO elsewhere in a file is not blamed on the change.
package static

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check"
)

// File is a changed file. Lines lists the changed (added or modified) line numbers of the
// new version; nil means the whole file counts as changed.
type File struct {
	Path  string
	Lines []int
}

// Whole marks every path as changed in full.
func Whole(paths ...string) []File {
	out := make([]File, len(paths))
	for i, p := range paths {
		out[i] = File{Path: p}
	}
	return out
}

// MaxFileSize is the largest file inspected; larger files are generated or data.
const MaxFileSize = 2 << 20

var (
	markerRe  = regexp.MustCompile(`\b(TODO|FIXME|XXX|HACK)\b`)
	notImplRe = regexp.MustCompile(`(?i)\bnot\s+(yet\s+)?implemented\b|\bunimplemented\b`)
	// "TODO: implement" admits the function is a stub, not a gap in it.
	todoImplementRe = regexp.MustCompile(`(?i)\b(TODO|FIXME)\b[\s:(\-]*(\w+\)?[\s:]*)?implement\b`)
	// A marker in a comment of a C-like, shell-like or SQL-like language.
	commentMarkerRe = regexp.MustCompile(`(?://|/\*|^\s*\*|#|--|<!--).*?\b(TODO|FIXME|XXX|HACK)\b`)
	consoleRe       = regexp.MustCompile(`\bconsole\.(log|debug|trace)\s*\(`)
	// Empty bodies of function declarations/expressions, methods and arrow functions.
	jsEmptyFuncRe   = regexp.MustCompile(`\bfunction\b\s*\*?\s*[\w$]*\s*(?:<[^>{}]*>)?\s*\([^()]*\)\s*(?::\s*[^{};=]+?)?\s*\{\s*\}`)
	jsEmptyMethodRe = regexp.MustCompile(`(?m)^[ \t]*(?:(?:public|private|protected|static|async|override|readonly)\s+)*([A-Za-z_$][\w$]*)\s*(?:<[^>{}]*>)?\s*\([^()]*\)\s*(?::\s*[^{};=]+?)?\s*\{\s*\}`)
	jsEmptyArrowRe  = regexp.MustCompile(`=>\s*\{\s*\}`)
)

// nonMethods are keywords the method pattern would otherwise mistake for method names.
var nonMethods = map[string]bool{
	"if": true, "for": true, "while": true, "switch": true, "catch": true, "with": true,
	"constructor": true, "function": true, "return": true,
}

// emptyAllowed are files that are legitimately empty.
var emptyAllowed = map[string]bool{".gitkeep": true, ".keep": true, "__init__.py": true, "py.typed": true}

// Check inspects files (paths relative to dir). Missing files (deleted by the change) are
// skipped.
func Check(dir string, files []File) ([]check.Finding, error) {
	var out []check.Finding
	for _, f := range files {
		rel := filepath.ToSlash(path.Clean(f.Path))
		if strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
			return nil, fmt.Errorf("static check %s: path outside worktree", f.Path)
		}
		full := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Stat(full)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("static check %s: %w", rel, err)
		}
		if fi.IsDir() || fi.Size() > MaxFileSize {
			continue
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return nil, fmt.Errorf("static check %s: %w", rel, err)
		}
		out = append(out, checkFile(rel, data, f.Lines)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out, nil
}

func checkFile(rel string, data []byte, lines []int) []check.Finding {
	if strings.TrimSpace(string(data)) == "" {
		if emptyAllowed[path.Base(rel)] {
			return nil
		}
		return []check.Finding{{File: rel, Category: check.CategoryEmptiedFile, Severity: check.SeverityError,
			Message: "the change left this file empty"}}
	}
	if isBinary(data) {
		return nil
	}
	var fs []check.Finding
	switch ext := path.Ext(rel); {
	case ext == ".go":
		fs = checkGo(rel, data)
	case jsExts[ext]:
		fs = checkJS(rel, data)
	case codeExts[ext]:
		fs = checkLines(rel, data)
	default:
		return nil
	}
	if lines == nil {
		return fs
	}
	changed := map[int]bool{}
	for _, l := range lines {
		changed[l] = true
	}
	// A not-implemented stub anywhere in a touched file counts: editing
	// around a panic("not implemented") does not do the work it stands for.
	return slices.DeleteFunc(fs, func(f check.Finding) bool { return !changed[f.Line] && f.Category != check.CategoryStub })
}

var jsExts = map[string]bool{".ts": true, ".tsx": true, ".js": true, ".jsx": true, ".mjs": true, ".cjs": true, ".mts": true, ".cts": true}

var codeExts = map[string]bool{
	".py": true, ".rs": true, ".java": true, ".kt": true, ".c": true, ".h": true, ".cc": true,
	".cpp": true, ".hpp": true, ".rb": true, ".sh": true, ".swift": true, ".cs": true, ".php": true,
	".scala": true, ".sql": true, ".proto": true, ".vue": true, ".svelte": true,
}

func isBinary(data []byte) bool {
	return slices.Contains(data[:min(len(data), 8000)], 0)
}

func finding(rel string, line int, category, severity, msg string) check.Finding {
	return check.Finding{File: rel, Line: line, Category: category, Severity: severity, Message: msg}
}

func markerFinding(rel string, line int, text string) check.Finding {
	m := markerRe.FindString(text)
	return finding(rel, line, check.CategoryMarker, check.SeverityWarning,
		fmt.Sprintf("%s marker left in the code: %s", m, strings.TrimSpace(text)))
}

func stubFinding(rel string, line int, text string) check.Finding {
	return finding(rel, line, check.CategoryStub, check.SeverityError,
		"stub left in the code: "+strings.TrimSpace(text))
}

// checkLines is the marker and stub check for any source language.
func checkLines(rel string, data []byte) []check.Finding {
	var out []check.Finding
	for i, line := range strings.Split(string(data), "\n") {
		if todoImplementRe.MatchString(line) && commentMarkerRe.MatchString(line) {
			out = append(out, stubFinding(rel, i+1, line))
			continue
		}
		if commentMarkerRe.MatchString(line) {
			out = append(out, markerFinding(rel, i+1, line))
		}
		if notImplRe.MatchString(line) {
			out = append(out, stubFinding(rel, i+1, line))
		}
	}
	return out
}

func checkJS(rel string, data []byte) []check.Finding {
	out := checkLines(rel, data)
	isTest := check.IsTestFile(rel)
	text := string(data)
	lines := strings.Split(text, "\n")
	if !isTest {
		for i, line := range lines {
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "//") || strings.HasPrefix(trimmed, "*") {
				continue
			}
			if consoleRe.MatchString(line) {
				out = append(out, finding(rel, i+1, check.CategoryDebugPrint, check.SeverityWarning,
					"debug print in non-test code: "+trimmed))
			}
		}
		// Test files use empty callbacks legitimately (mocks, no-op handlers).
		lineOf := func(off int) int { return strings.Count(text[:off], "\n") + 1 }
		seen := map[int]bool{}
		add := func(off int, what string) {
			l := lineOf(off)
			if seen[l] || isCommentLine(lines[l-1]) {
				return
			}
			seen[l] = true
			out = append(out, finding(rel, l, check.CategoryEmptyBody, check.SeverityWarning, what+" has an empty body"))
		}
		for _, m := range jsEmptyFuncRe.FindAllStringIndex(text, -1) {
			add(m[0], "function")
		}
		for _, m := range jsEmptyMethodRe.FindAllStringSubmatchIndex(text, -1) {
			name := text[m[2]:m[3]]
			if nonMethods[name] {
				continue
			}
			add(m[2], "method "+name)
		}
		for _, m := range jsEmptyArrowRe.FindAllStringIndex(text, -1) {
			add(m[0], "arrow function")
		}
	}
	return out
}

func isCommentLine(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "//") || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "*")
}

func checkGo(rel string, data []byte) []check.Finding {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, rel, data, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil || file == nil {
		// The build check reports the syntax error; still look for markers and stubs.
		return checkLines(rel, data)
	}
	src := strings.Split(string(data), "\n")
	lineText := func(l int) string {
		if l-1 < len(src) && l >= 1 {
			return src[l-1]
		}
		return ""
	}
	var out []check.Finding
	for _, cg := range file.Comments {
		for _, c := range cg.List {
			start := fset.Position(c.Pos()).Line
			for i, l := range strings.Split(c.Text, "\n") {
				if todoImplementRe.MatchString(l) {
					out = append(out, stubFinding(rel, start+i, l))
					continue
				}
				if markerRe.MatchString(l) {
					out = append(out, markerFinding(rel, start+i, l))
				}
				if notImplRe.MatchString(l) {
					out = append(out, stubFinding(rel, start+i, l))
				}
			}
		}
	}
	isTest := strings.HasSuffix(rel, "_test.go")
	isMain := file.Name.Name == "main"
	fmtName := importName(file, "fmt")
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil {
				s = n.Value
			}
			if notImplRe.MatchString(s) {
				l := fset.Position(n.Pos()).Line
				out = append(out, stubFinding(rel, l, lineText(l)))
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "panic" && len(n.Args) == 1 {
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && markerRe.MatchString(lit.Value) {
					l := fset.Position(n.Pos()).Line
					out = append(out, stubFinding(rel, l, lineText(l)))
				}
			}
			if !isTest && !isMain && isDebugPrint(n, fmtName) {
				l := fset.Position(n.Pos()).Line
				out = append(out, finding(rel, l, check.CategoryDebugPrint, check.SeverityWarning,
					"debug print in library code: "+strings.TrimSpace(lineText(l))))
			}
		case *ast.FuncDecl:
			if n.Body != nil && len(n.Body.List) == 0 && !isTest && !hasComment(file, n.Body) {
				l := fset.Position(n.Body.Lbrace).Line
				out = append(out, finding(rel, l, check.CategoryEmptyBody, check.SeverityWarning,
					fmt.Sprintf("function %s has an empty body", n.Name.Name)))
			}
		}
		return true
	})
	return out
}

// hasComment reports whether a body holds a comment: an empty body that explains itself
// ("// Close has nothing to release.") is a deliberate no-op.
func hasComment(file *ast.File, body *ast.BlockStmt) bool {
	for _, cg := range file.Comments {
		if cg.Pos() > body.Lbrace && cg.End() < body.Rbrace {
			return true
		}
	}
	return false
}

func importName(file *ast.File, importPath string) string {
	for _, im := range file.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == importPath {
			if im.Name != nil {
				return im.Name.Name
			}
			return path.Base(importPath)
		}
	}
	return ""
}

func isDebugPrint(call *ast.CallExpr, fmtName string) bool {
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		return fun.Name == "println" || fun.Name == "print"
	case *ast.SelectorExpr:
		x, ok := fun.X.(*ast.Ident)
		if !ok || fmtName == "" || x.Name != fmtName {
			return false
		}
		return fun.Sel.Name == "Println" || fun.Sel.Name == "Printf" || fun.Sel.Name == "Print"
	}
	return false
}
