package criteria

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
)

// goBuiltinTypes may appear in a Go example as conversions and in composite
// literals' types.
var goBuiltinTypes = []string{"bool", "string", "byte", "rune", "int", "int8", "int16", "int32", "int64",
	"uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "any", "error"}

// Go returns the criteria that are Go examples calling one of funcs (the
// top-level functions the change declares), in the work order's order.
func Go(criteria []string, funcs []string) []Example {
	var out []Example
	for i, text := range criteria {
		s, ok := normalize(text)
		if !ok {
			continue
		}
		expr, err := parser.ParseExpr(s)
		if err != nil {
			continue
		}
		e, ok := goExample(expr, funcs)
		if !ok {
			continue
		}
		e.N, e.Text = i+1, text
		out = append(out, e)
	}
	return out
}

func goExample(expr ast.Expr, funcs []string) (Example, bool) {
	expr = ast.Unparen(expr)
	switch x := expr.(type) {
	case *ast.BinaryExpr:
		if x.Op != token.EQL && x.Op != token.NEQ {
			return Example{}, false
		}
		call, want := x.X, x.Y
		if _, ok := goCall(call, funcs); !ok {
			call, want = want, call
		}
		name, ok := goCall(call, funcs)
		if !ok || !goClosed(want) {
			return Example{}, false
		}
		op := Equal
		if x.Op == token.NEQ {
			op = NotEqual
		}
		return Example{Func: name, Call: goSource(call), Want: goSource(want), Op: op}, true
	case *ast.UnaryExpr:
		if x.Op != token.NOT {
			return Example{}, false
		}
		name, ok := goCall(x.X, funcs)
		if !ok {
			return Example{}, false
		}
		return Example{Func: name, Call: goSource(ast.Unparen(x.X)), Op: False}, true
	case *ast.CallExpr:
		name, ok := goCall(x, funcs)
		if !ok {
			return Example{}, false
		}
		return Example{Func: name, Call: goSource(x), Op: True}, true
	}
	return Example{}, false
}

// goCall: expr calls one of funcs with closed arguments.
func goCall(expr ast.Expr, funcs []string) (string, bool) {
	call, ok := ast.Unparen(expr).(*ast.CallExpr)
	if !ok || call.Ellipsis.IsValid() {
		return "", false
	}
	id, ok := call.Fun.(*ast.Ident)
	if !ok || !slices.Contains(funcs, id.Name) {
		return "", false
	}
	for _, a := range call.Args {
		if !goClosed(a) {
			return "", false
		}
	}
	return id.Name, true
}

// goClosed: expr is built from literals only (and conversions to builtin
// types), so it means the same in any package.
func goClosed(expr ast.Expr) bool {
	closed := true
	ast.Inspect(expr, func(n ast.Node) bool {
		switch x := n.(type) {
		case nil, *ast.BasicLit, *ast.CompositeLit, *ast.KeyValueExpr, *ast.ParenExpr,
			*ast.ArrayType, *ast.MapType, *ast.UnaryExpr, *ast.BinaryExpr:
		case *ast.Ident:
			if x.Name != "true" && x.Name != "false" && x.Name != "nil" && !slices.Contains(goBuiltinTypes, x.Name) {
				closed = false
			}
		case *ast.CallExpr:
			id, ok := x.Fun.(*ast.Ident)
			if !ok || !slices.Contains(goBuiltinTypes, id.Name) || len(x.Args) != 1 {
				closed = false
			}
		default:
			closed = false
		}
		return closed
	})
	return closed
}

func goSource(expr ast.Expr) string {
	var b bytes.Buffer
	if err := format.Node(&b, token.NewFileSet(), expr); err != nil {
		return ""
	}
	return b.String()
}

// GoTestFile is the test file for one package's examples: a test function
// per example, TestMooseCriterion<N>. An example's value is assigned to a
// variable of the call's result type, so untyped constants take that type
// (2.5 is a float64 where the function returns one) and maps and slices are
// compared with reflect.DeepEqual.
func GoTestFile(pkg string, examples []Example) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "package %s\n\n// Written by Moose from the work order's acceptance criteria, beside the\n// proposal's tests; never part of the change.\n\nimport (\n\t\"reflect\"\n\t\"testing\"\n)\n\nvar _ = reflect.DeepEqual\n", pkg)
	for _, e := range examples {
		desc, call := strconv.Quote(e.Describe()), strconv.Quote(e.Call)
		fmt.Fprintf(&b, "\nfunc %s(t *testing.T) {\n", GoTestName(e.N))
		switch e.Op {
		case Equal, NotEqual:
			// want takes got's type, so untyped constants convert as the
			// criterion means them and maps and slices compare too.
			not := "!"
			if e.Op == NotEqual {
				not = ""
			}
			fmt.Fprintf(&b, "\tgot := %s\n\twant := got\n\twant = %s\n\tif %sreflect.DeepEqual(got, want) {\n\t\tt.Errorf(\"%%s does not hold: %%s returned %%#v\", %s, %s, got)\n\t}\n", e.Call, e.Want, not, desc, call)
		case True, False:
			not := "!"
			if e.Op == False {
				not = ""
			}
			fmt.Fprintf(&b, "\tif %s%s {\n\t\tt.Errorf(\"%%s does not hold: %%s returned %t\", %s, %s)\n\t}\n", not, e.Call, e.Op == False, desc, call)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}

// GoTestName is the test function of example n.
func GoTestName(n int) string { return "TestMooseCriterion" + strconv.Itoa(n) }

// GoExampleAt is the example whose test function holds line (1-based) of a
// GoTestFile, or 0.
func GoExampleAt(src []byte, line int) int {
	ls := bytes.Split(src, []byte("\n"))
	for i := min(line, len(ls)) - 1; i >= 0; i-- {
		if rest, ok := bytes.CutPrefix(ls[i], []byte("func TestMooseCriterion")); ok {
			n, _, _ := bytes.Cut(rest, []byte("("))
			v, err := strconv.Atoi(string(n))
			if err != nil {
				return 0
			}
			return v
		}
	}
	return 0
}

// GoFuncs are the top-level functions (no methods) src declares, and its
// package name.
func GoFuncs(src []byte) (pkg string, funcs []string) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return "", nil
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name != "init" && fd.Name.Name != "main" && fd.Name.Name != "_" {
			funcs = append(funcs, fd.Name.Name)
		}
	}
	return f.Name.Name, funcs
}
