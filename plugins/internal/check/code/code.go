// Package code locates functions in Go and TypeScript/JavaScript source, for
// the checks that reason about whole functions rather than lines: the static
// stub checks (every function a change touched or a work order names) and
// the mutation tests (the changed and added functions).
//
// Go is read with go/parser. TypeScript and JavaScript are read with a small
// tokenizer that knows strings, template literals, comments and regular
// expression literals, so braces inside them never unbalance a body; function
// declarations, methods and arrow functions with block bodies are found by
// their token shapes. That is not a full parser, and does not need to be:
// a function it misses is only a function not checked.
package code

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"strings"
)

// Func is one function in a file. Lines are 1-based and inclusive; Body
// offsets are byte offsets of the body's braces ('{' at BodyStart, '}' at
// BodyEnd-1), or -1 for an expression-bodied arrow function.
type Func struct {
	Name               string
	StartLine, EndLine int
	BodyStart, BodyEnd int
	// Params is the number of named parameters (blank ones excluded).
	Params int
	// Results are the declared result types as written ("int", "error",
	// "Promise<number>"); empty when none are declared.
	Results []string
}

// Contains reports whether line lies within f.
func (f Func) Contains(line int) bool { return line >= f.StartLine && line <= f.EndLine }

// IsGo and IsJS classify paths by extension.
func IsGo(p string) bool { return path.Ext(p) == ".go" }

// IsJS reports whether p is TypeScript or JavaScript.
func IsJS(p string) bool {
	switch path.Ext(p) {
	case ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts":
		return true
	}
	return false
}

// Funcs returns the functions of a Go or JS/TS file; other files (and Go
// files that do not parse) have none.
func Funcs(rel string, src []byte) []Func {
	switch {
	case IsGo(rel):
		return goFuncs(src)
	case IsJS(rel):
		return JSFuncs(src)
	}
	return nil
}

func goFuncs(src []byte) []Func {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.SkipObjectResolution)
	if err != nil || f == nil {
		return nil
	}
	var out []Func
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		fn := Func{
			Name:      GoFuncName(fd),
			StartLine: fset.Position(fd.Pos()).Line,
			EndLine:   fset.Position(fd.End()).Line,
			BodyStart: fset.Position(fd.Body.Lbrace).Offset,
			BodyEnd:   fset.Position(fd.Body.Rbrace).Offset + 1,
		}
		for _, p := range fd.Type.Params.List {
			for _, n := range p.Names {
				if n.Name != "_" {
					fn.Params++
				}
			}
		}
		if fd.Type.Results != nil {
			for _, r := range fd.Type.Results.List {
				t := string(src[fset.Position(r.Type.Pos()).Offset:fset.Position(r.Type.End()).Offset])
				for range max(1, len(r.Names)) {
					fn.Results = append(fn.Results, t)
				}
			}
		}
		out = append(out, fn)
	}
	return out
}

// GoFuncName is "Name" for a function and "Type.Name" for a method.
func GoFuncName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}

// ShortName is the function's own name without a receiver or class.
func ShortName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}
