package mutate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"

	"github.com/moosehq/moose/plugins/internal/check/code"
)

var goFlip = map[token.Token]token.Token{
	token.LSS: token.GEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
}

var goBoundary = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ, token.GEQ: token.GTR,
}

var goArith = map[token.Token]token.Token{
	token.ADD: token.SUB, token.SUB: token.ADD, token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL,
	token.ADD_ASSIGN: token.SUB_ASSIGN, token.SUB_ASSIGN: token.ADD_ASSIGN,
	token.MUL_ASSIGN: token.QUO_ASSIGN, token.QUO_ASSIGN: token.MUL_ASSIGN,
}

// Go returns the mutants of the functions of a Go file that intersect lines
// (nil: every function), and those functions. Test files and files that do
// not parse have none.
func Go(rel string, src []byte, lines []int) ([]Mutant, []Target) {
	if strings.HasSuffix(rel, "_test.go") {
		return nil, nil
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, nil
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset }
	line := func(p token.Pos) int { return fset.Position(p).Line }
	var out []Mutant
	var targets []Target
	for _, d := range file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil || len(fd.Body.List) == 0 {
			continue
		}
		start, end := line(fd.Pos()), line(fd.End())
		if !inScope(lines, start, end) || fd.Name.Name == "init" || fd.Name.Name == "main" && file.Name.Name == "main" {
			continue
		}
		name := code.GoFuncName(fd)
		targets = append(targets, Target{File: rel, Func: name, StartLine: start, EndLine: end})
		bodyStart, bodyEnd := off(fd.Body.Lbrace), off(fd.Body.Rbrace)+1
		mk := func(kind, desc string, at token.Pos, edits ...Edit) Mutant {
			return Mutant{File: rel, Line: line(at), Func: name, Kind: kind, Desc: desc, Edits: edits}
		}
		zero := zeroReturn(src, fset, fd)
		if !sameBody(src[bodyStart:bodyEnd], zero) {
			out = append(out, mk(KindZeroValue, "returns zero values", fd.Body.Lbrace, Edit{bodyStart, bodyEnd, zero}))
		}
		out = append(out, mk(KindPanic, "panics", fd.Body.Lbrace, Edit{bodyStart, bodyEnd, `{ panic("moose mutant: ` + name + ` panics") }`}))

		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BinaryExpr:
				opStart := off(x.OpPos)
				opEnd := opStart + len(x.Op.String())
				if to, ok := goFlip[x.Op]; ok {
					out = append(out, mk(KindComparison, fmt.Sprintf("`%s` → `%s`", x.Op, to), x.OpPos, Edit{opStart, opEnd, to.String()}))
				}
				if to, ok := goBoundary[x.Op]; ok {
					out = append(out, mk(KindBoundary, fmt.Sprintf("`%s` → `%s`", x.Op, to), x.OpPos, Edit{opStart, opEnd, to.String()}))
				}
				switch x.Op {
				case token.LAND:
					out = append(out, mk(KindBoolean, "`&&` → `||`", x.OpPos, Edit{opStart, opEnd, "||"}))
				case token.LOR:
					out = append(out, mk(KindBoolean, "`||` → `&&`", x.OpPos, Edit{opStart, opEnd, "&&"}))
				}
				if to, ok := goArith[x.Op]; ok && !stringOperand(x) {
					out = append(out, mk(KindArithmetic, fmt.Sprintf("`%s` → `%s`", x.Op, to), x.OpPos, Edit{opStart, opEnd, to.String()}))
				}
			case *ast.UnaryExpr:
				if x.Op == token.NOT {
					out = append(out, mk(KindBoolean, "`!` removed", x.OpPos, Edit{off(x.OpPos), off(x.OpPos) + 1, ""}))
				}
			case *ast.BasicLit:
				if x.Kind == token.INT {
					if v, err := strconv.ParseInt(strings.ReplaceAll(x.Value, "_", ""), 0, 64); err == nil {
						out = append(out, mk(KindConstant, fmt.Sprintf("`%s` → `%d`", x.Value, v+1), x.Pos(), Edit{off(x.Pos()), off(x.End()), strconv.FormatInt(v+1, 10)}))
					}
				}
			case *ast.AssignStmt:
				if to, ok := goArith[x.Tok]; ok {
					p := off(x.TokPos)
					out = append(out, mk(KindArithmetic, fmt.Sprintf("`%s` → `%s`", x.Tok, to), x.TokPos, Edit{p, p + len(x.Tok.String()), to.String()}))
				}
				if x.Tok != token.DEFINE {
					out = append(out, removal(src, off, mk, x))
				}
			case *ast.IncDecStmt:
				out = append(out, removal(src, off, mk, x))
			case *ast.ExprStmt:
				if _, ok := x.X.(*ast.CallExpr); ok {
					out = append(out, removal(src, off, mk, x))
				}
			case *ast.FuncLit:
				return true
			}
			return true
		})
	}
	return out, targets
}

func removal(src []byte, off func(token.Pos) int, mk func(string, string, token.Pos, ...Edit) Mutant, s ast.Stmt) Mutant {
	a, b := off(s.Pos()), off(s.End())
	// `_ = 0` keeps a statement where the grammar needs one (a lone case body, a for post).
	return mk(KindStatement, "removed `"+shorten(oneLine(string(src[a:b])), 40)+"`", s.Pos(), Edit{a, b, "_ = 0"})
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func stringOperand(x *ast.BinaryExpr) bool {
	for _, e := range []ast.Expr{x.X, x.Y} {
		if l, ok := e.(*ast.BasicLit); ok && (l.Kind == token.STRING || l.Kind == token.CHAR) {
			return true
		}
	}
	return false
}

// zeroReturn is a body returning the zero value of every result: literal
// zeros for the types whose zero is spelled the same everywhere, *new(T)
// otherwise (valid for any type, type parameters included).
func zeroReturn(src []byte, fset *token.FileSet, fd *ast.FuncDecl) string {
	if fd.Type.Results == nil || len(fd.Type.Results.List) == 0 {
		return "{}"
	}
	var vals []string
	for _, r := range fd.Type.Results.List {
		t := string(src[fset.Position(r.Type.Pos()).Offset:fset.Position(r.Type.End()).Offset])
		for range max(1, len(r.Names)) {
			vals = append(vals, zeroOf(r.Type, t))
		}
	}
	return "{ return " + strings.Join(vals, ", ") + " }"
}

func zeroOf(e ast.Expr, text string) string {
	switch x := e.(type) {
	case *ast.StarExpr, *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType:
		if a, ok := x.(*ast.ArrayType); ok && a.Len != nil {
			return "*new(" + text + ")"
		}
		return "nil"
	case *ast.Ident:
		switch x.Name {
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
			"float32", "float64", "byte", "rune", "complex64", "complex128":
			return "0"
		case "string":
			return `""`
		case "bool":
			return "false"
		case "error", "any":
			return "nil"
		}
	}
	return "*new(" + text + ")"
}

// sameBody: the function already is its zero-value mutant (an equivalent
// mutant, not worth running).
func sameBody(body []byte, zero string) bool {
	norm := func(s string) string { return strings.Join(strings.Fields(s), "") }
	b := norm(string(body))
	return b == norm(zero) || zero == "{}" && b == "{}"
}

// FixGoImports blanks (`_ "path"`) the imports a mutant no longer uses, so
// that replacing a body does not turn into an "imported and not used"
// compile error. Only imports the original used by their guessed name and
// the mutant does not are touched.
func FixGoImports(orig, mutated []byte) []byte {
	fset := token.NewFileSet()
	mf, err := parser.ParseFile(fset, "m.go", mutated, parser.SkipObjectResolution|parser.ImportsOnly)
	if err != nil {
		return mutated
	}
	before, after := selectorUses(orig), selectorUses(mutated)
	var edits []Edit
	for _, im := range mf.Imports {
		p, err := strconv.Unquote(im.Path.Value)
		if err != nil {
			continue
		}
		name := p[strings.LastIndexByte(p, '/')+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		if name == "_" || name == "." || before[name] == 0 || after[name] > 0 {
			continue
		}
		if im.Name != nil {
			edits = append(edits, Edit{fset.Position(im.Name.Pos()).Offset, fset.Position(im.Name.End()).Offset, "_"})
		} else {
			o := fset.Position(im.Path.Pos()).Offset
			edits = append(edits, Edit{o, o, "_ "})
		}
	}
	if len(edits) == 0 {
		return mutated
	}
	return Mutant{Edits: edits}.Apply(mutated)
}

func selectorUses(src []byte) map[string]int {
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.SkipObjectResolution)
	uses := map[string]int{}
	if err != nil {
		return uses
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := s.X.(*ast.Ident); ok {
				uses[id.Name]++
			}
		}
		return true
	})
	return uses
}
