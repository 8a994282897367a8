package code_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check/code"
)

func names(fs []code.Func) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestGoFuncs(t *testing.T) {
	t.Parallel()
	src := []byte("package p\n\nfunc A(x, _ int) (int, error) {\n\treturn x, nil\n}\n\ntype T struct{}\n\nfunc (t *T) M() {}\n")
	fs := code.Funcs("p.go", src)
	require.Equal(t, []string{"A", "T.M"}, names(fs))
	require.Equal(t, 3, fs[0].StartLine)
	require.Equal(t, 5, fs[0].EndLine)
	require.Equal(t, 1, fs[0].Params)
	require.Equal(t, []string{"int", "error"}, fs[0].Results)
	require.Equal(t, "{\n\treturn x, nil\n}", string(src[fs[0].BodyStart:fs[0].BodyEnd]))
}

func TestJSFuncs(t *testing.T) {
	t.Parallel()
	src := []byte(`// a { brace in a comment
export function slugify(s: string): string {
  const re = /[}{]/g;
  return s.replace(re, "}").trim() + ` + "`${s}{`" + `;
}
export const double = (x: number): number => x * 2;
const obj = { half(x) { return x / 2; }, neg: function (y) { return -y; } };
class C {
  async load(id: string): Promise<{ a: number }> {
    if (id) { return { a: 1 }; }
    return { a: 0 };
  }
}
const inc = n => n + 1;
`)
	fs := code.JSFuncsDetailed(src)
	var got []string
	for _, f := range fs {
		got = append(got, f.Name)
	}
	require.ElementsMatch(t, []string{"slugify", "double", "half", "neg", "load", "inc"}, got)
	for _, f := range fs {
		body := string(src[f.BodyStart:f.BodyEnd])
		switch f.Name {
		case "slugify":
			require.Equal(t, 2, f.StartLine)
			require.Equal(t, 5, f.EndLine)
			require.Equal(t, []string{"string"}, f.Results)
			require.Equal(t, byte('}'), body[len(body)-1])
		case "double":
			require.True(t, f.Expr)
			require.Equal(t, "x * 2", body)
			require.Equal(t, []string{"number"}, f.Results)
		case "inc":
			require.Equal(t, "n + 1", body)
		case "load":
			require.Equal(t, []string{"Promise<{ a: number }>"}, f.Results)
			require.Equal(t, 9, f.StartLine)
			require.Equal(t, 12, f.EndLine)
		}
	}
}
