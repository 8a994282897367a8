package static_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/static"
)

type loc struct {
	file     string
	line     int
	category string
}

func locs(fs []check.Finding) []loc {
	out := make([]loc, len(fs))
	for i, f := range fs {
		out[i] = loc{f.File, f.Line, f.Category}
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		path  string
		src   string
		lines []int
		want  []loc
	}{
		{
			name: "go markers, stubs, empty body, debug print",
			path: "p/a.go",
			src: `package p

import "fmt"

// TODO: handle negative numbers
func Abs(x int) int {
	fmt.Println("abs", x)
	return x
}

func Later() error {
	return fmt.Errorf("not implemented")
}

func Noop() {}

func Explained() {
	// Nothing to release: the pool owns the connections.
}

func Boom() {
	panic("TODO")
}

var s = "a TODO inside a string is not a comment marker"
`,
			want: []loc{
				{"p/a.go", 5, check.CategoryMarker},
				{"p/a.go", 7, check.CategoryDebugPrint},
				{"p/a.go", 12, check.CategoryStub},
				{"p/a.go", 15, check.CategoryEmptyBody},
				{"p/a.go", 22, check.CategoryStub},
			},
		},
		{
			name: "go: prints in package main are fine",
			path: "cmd/x/main.go",
			src:  "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(1) }\n",
			want: []loc{},
		},
		{
			name: "go: aliased fmt in a library",
			path: "p/b.go",
			src:  "package p\n\nimport f \"fmt\"\n\nfunc B() { f.Printf(\"%d\", 1); println(2) }\n",
			want: []loc{{"p/b.go", 5, check.CategoryDebugPrint}, {"p/b.go", 5, check.CategoryDebugPrint}},
		},
		{
			name: "go test file: empty bodies and prints allowed",
			path: "p/a_test.go",
			src:  "package p\n\nimport \"fmt\"\n\nfunc helper() {}\n\nfunc TestX(t *testing.T) { fmt.Println(1) } // FIXME flaky\n",
			want: []loc{{"p/a_test.go", 7, check.CategoryMarker}},
		},
		{
			name: "go with a syntax error still gets marker and stub checks",
			path: "p/c.go",
			src:  "package p\n\nfunc X( {\n\t// XXX fix\n\tpanic(\"not implemented\")\n",
			want: []loc{{"p/c.go", 4, check.CategoryMarker}, {"p/c.go", 5, check.CategoryStub}},
		},
		{
			name: "typescript",
			path: "src/a.ts",
			src: `export function parse(s: string): number {
  console.log("parsing", s); // debug
  return Number(s);
}

export function later(): void {}

export class Box {
  constructor(private readonly v: number) {}
  open(): void {
  }
  value(): number {
    throw new Error("not implemented");
  }
}

// FIXME: slow
export const noop = () => {};
const config = {};
if (config) {}
// console.log("commented out")
`,
			want: []loc{
				{"src/a.ts", 2, check.CategoryDebugPrint},
				{"src/a.ts", 6, check.CategoryEmptyBody},
				{"src/a.ts", 10, check.CategoryEmptyBody},
				{"src/a.ts", 13, check.CategoryStub},
				{"src/a.ts", 17, check.CategoryMarker},
				{"src/a.ts", 18, check.CategoryEmptyBody},
			},
		},
		{
			name: "typescript test file: console and empty callbacks allowed",
			path: "test/a.test.ts",
			src:  "it(\"x\", () => {});\nconsole.log(1);\n// TODO more cases\n",
			want: []loc{{"test/a.test.ts", 3, check.CategoryMarker}},
		},
		{
			name: "python markers",
			path: "a.py",
			src:  "def f():\n    # TODO: real logic\n    raise NotImplementedError('not implemented')\n",
			want: []loc{{"a.py", 2, check.CategoryMarker}, {"a.py", 3, check.CategoryStub}},
		},
		{
			name:  "only changed lines count",
			path:  "p/d.go",
			src:   "package p\n\n// TODO old\nfunc A() {}\n\n// TODO new\nfunc B() int { return 1 }\n",
			lines: []int{6, 7},
			want:  []loc{{"p/d.go", 6, check.CategoryMarker}},
		},
		{
			name: "emptied file",
			path: "p/e.go",
			src:  "  \n\n",
			want: []loc{{"p/e.go", 0, check.CategoryEmptiedFile}},
		},
		{
			name:  "emptied file reported even with no added lines",
			path:  "src/gone.ts",
			src:   "",
			lines: []int{},
			want:  []loc{{"src/gone.ts", 0, check.CategoryEmptiedFile}},
		},
		{
			name: "empty marker files are fine",
			path: "pkg/__init__.py",
			src:  "",
			want: []loc{},
		},
		{
			name: "docs are not code",
			path: "README.md",
			src:  "TODO: write docs\n",
			want: []loc{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			full := filepath.Join(dir, filepath.FromSlash(tt.path))
			require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
			require.NoError(t, os.WriteFile(full, []byte(tt.src), 0o644))
			got, err := static.Check(dir, []static.File{{Path: tt.path, Lines: tt.lines}})
			require.NoError(t, err)
			require.ElementsMatch(t, tt.want, locs(got))
			for _, f := range got {
				require.NotEmpty(t, f.Message)
				require.NotEmpty(t, f.Severity)
			}
		})
	}
}

func TestCheckSkipsDeletedAndRejectsEscapes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	got, err := static.Check(dir, static.Whole("deleted.go"))
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = static.Check(dir, static.Whole("../outside.go"))
	require.Error(t, err)
}

func TestAddedLines(t *testing.T) {
	t.Parallel()
	diff := `diff --git a/p/a.go b/p/a.go
index 1111111..2222222 100644
--- a/p/a.go
+++ b/p/a.go
@@ -3,0 +4,2 @@ func A() {
+// TODO new
+func B() {}
@@ -10 +12 @@ func C() {
-	return 1
+	return 2
diff --git a/p/new.go b/p/new.go
new file mode 100644
--- /dev/null
+++ b/p/new.go
@@ -0,0 +1,3 @@
+package p
+
+++ looks like a header but is content
diff --git a/p/old.go b/p/old.go
deleted file mode 100644
--- a/p/old.go
+++ /dev/null
@@ -1,2 +0,0 @@
-package p
-// gone
diff --git a/p/emptied.go b/p/emptied.go
--- a/p/emptied.go
+++ b/p/emptied.go
@@ -1,3 +0,0 @@
-package p
-
-func X() {}
diff --git a/p/ctx.go b/p/ctx.go
--- a/p/ctx.go
+++ b/p/ctx.go
@@ -1,4 +1,5 @@
 package p
 
+// added
 func Y() {}
-func Z() {}
+func W() {}
`
	require.Equal(t, []static.File{
		{Path: "p/a.go", Lines: []int{4, 5, 12}},
		{Path: "p/new.go", Lines: []int{1, 2, 3}},
		{Path: "p/emptied.go", Lines: []int{}},
		{Path: "p/ctx.go", Lines: []int{3, 5}},
	}, static.AddedLines(diff))
}
