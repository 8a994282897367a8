package edit_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/edit"
)

// parsed is the part of an Edit a parse test checks.
type parsed struct {
	Path    string
	Format  edit.Format
	Content string
	Search  string
	Replace string
	Hunks   []string // each hunk's lines, prefixed by their op
	Create  bool
	Delete  bool
	Block   int
}

func summarize(edits []edit.Edit) []parsed {
	out := make([]parsed, 0, len(edits))
	for _, e := range edits {
		p := parsed{Path: e.Path, Format: e.Format, Content: e.Content, Search: e.Search, Replace: e.Replace,
			Create: e.Create, Delete: e.Delete, Block: e.Block}
		for _, h := range e.Hunks {
			var b strings.Builder
			for _, l := range h.Lines {
				b.WriteByte(byte(l.Op))
				b.WriteString(l.Text)
				b.WriteByte('\n')
			}
			p.Hunks = append(p.Hunks, b.String())
		}
		out = append(out, p)
	}
	return out
}

func categories(findings []edit.Finding) []string {
	out := make([]string, 0, len(findings))
	for _, f := range findings {
		out = append(out, f.Category)
	}
	return out
}

func whole(path, content string, block int) parsed {
	return parsed{Path: path, Format: edit.FormatWholeFile, Content: content, Block: block}
}

func sr(path, search, replace string, block int) parsed {
	return parsed{Path: path, Format: edit.FormatSearchReplace, Search: search, Replace: replace, Block: block}
}

func TestParseWholeFile(t *testing.T) {
	t.Parallel()
	const goSrc = "package main\n\nfunc main() {}\n"
	tests := []struct {
		name     string
		in       string
		want     []parsed
		findings []string
	}{
		{
			name: "bare path line before fence, prose around",
			in:   "Sure! Here is the implementation.\n\ncmd/app/main.go\n```go\npackage main\n\nfunc main() {}\n```\n\nThis adds an entry point.",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "heading with backticks",
			in:   "### `cmd/app/main.go`\n```go\npackage main\n\nfunc main() {}\n```",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "bold File: label, blank line before fence",
			in:   "**File: cmd/app/main.go**\n\n```go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "prose line ending in a colon",
			in:   "Here is the updated `cmd/app/main.go`:\n```go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "numbered list item",
			in:   "1. `cmd/app/main.go`\n```go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "path in info string after language",
			in:   "```go cmd/app/main.go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "path alone in info string",
			in:   "```cmd/app/main.go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "language:path info string",
			in:   "```go:cmd/app/main.go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "title attribute in info string",
			in:   "```go title=\"cmd/app/main.go\"\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "tilde fence",
			in:   "cmd/app/main.go\n~~~go\npackage main\n\nfunc main() {}\n~~~\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "path comment on the first line",
			in:   "```go\n// cmd/app/main.go\npackage main\n\nfunc main() {}\n```\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "four-backtick fence holding markdown with fences",
			in:   "README.md\n````markdown\n# Title\n\n```\ngo run .\n```\n````\n",
			want: []parsed{whole("README.md", "# Title\n\n```\ngo run .\n```\n", 1)},
		},
		{
			name: "three-backtick fence holding a nested fenced example",
			in:   "docs/usage.md\n```markdown\nRun:\n\n```sh\nmake test\n```\n\nDone.\n```\n",
			want: []parsed{whole("docs/usage.md", "Run:\n\n```sh\nmake test\n```\n\nDone.\n", 1)},
		},
		{
			name: "several files and an unnamed shell block",
			in: "First the library:\n\nlib/add.go\n```go\npackage lib\n\nfunc Add(a, b int) int { return a + b }\n```\n\n" +
				"Run it with:\n```sh\ngo test ./...\n```\n\nAnd its test:\n\nlib/add_test.go\n```go\npackage lib\n```\n",
			want: []parsed{
				whole("lib/add.go", "package lib\n\nfunc Add(a, b int) int { return a + b }\n", 1),
				whole("lib/add_test.go", "package lib\n", 2),
			},
		},
		{
			name: "CRLF line endings",
			in:   "cmd/app/main.go\r\n```go\r\npackage main\r\n\r\nfunc main() {}\r\n```\r\n",
			want: []parsed{whole("cmd/app/main.go", goSrc, 1)},
		},
		{
			name: "closing fence is the last byte, no trailing newline",
			in:   "Makefile\n```make\nall:\n\tgo build ./...\n```",
			want: []parsed{whole("Makefile", "all:\n\tgo build ./...\n", 1)},
		},
		{
			name: "unsafe path is extracted for Apply to refuse",
			in:   "../../etc/passwd\n```\nroot::0:0::/:/bin/sh\n```\n",
			want: []parsed{whole("../../etc/passwd", "root::0:0::/:/bin/sh\n", 1)},
		},
		{
			name:     "unterminated fence is not applied",
			in:       "cmd/app/main.go\n```go\npackage main\n\nfunc main() {\n",
			findings: []string{edit.CategoryMalformed},
		},
		{
			name:     "identifier in prose is not a path",
			in:       "Call `fmt.Println` like this:\n```go\nfmt.Println(\"hi\")\n```\n",
			findings: []string{edit.CategoryNoEdits},
		},
		{
			name:     "two files named in one line is ambiguous",
			in:       "Change `a.go` and `b.go`:\n```go\npackage a\n```\n",
			findings: []string{edit.CategoryNoEdits},
		},
		{
			name:     "nothing at all",
			in:       "I cannot help with that.",
			findings: []string{edit.CategoryNoEdits},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			edits, findings := edit.Parse(tt.in)
			require.Equal(t, tt.want, nonNil(summarize(edits)))
			require.Equal(t, tt.findings, nonNilS(categories(findings)), "%v", findings)
		})
	}
}

func nonNil(p []parsed) []parsed {
	if len(p) == 0 {
		return nil
	}
	return p
}

func nonNilS(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestParseNoEditsMessageExplainsMissingPath(t *testing.T) {
	t.Parallel()
	_, findings := edit.Parse("Here you go:\n```go\npackage main\n```\n")
	require.Len(t, findings, 1)
	require.Equal(t, edit.CategoryNoEdits, findings[0].Category)
	require.Contains(t, findings[0].Message, "none says which file")
}

func TestParseUnifiedDiff(t *testing.T) {
	t.Parallel()
	diff := func(path string, create, del bool, block int, hunks ...string) parsed {
		return parsed{Path: path, Format: edit.FormatUnifiedDiff, Create: create, Delete: del, Block: block, Hunks: hunks}
	}
	tests := []struct {
		name     string
		in       string
		want     []parsed
		findings []string
	}{
		{
			name: "fenced git-style diff with prose",
			in: "I changed the greeting.\n\n```diff\n--- a/greet/greet.go\n+++ b/greet/greet.go\n@@ -3,3 +3,3 @@ package greet\n" +
				" func Hello() string {\n-\treturn \"hi\"\n+\treturn \"hello\"\n }\n```\nLet me know!",
			want: []parsed{diff("greet/greet.go", false, false, 1, " func Hello() string {\n-\treturn \"hi\"\n+\treturn \"hello\"\n }\n")},
		},
		{
			name: "diff --git with new and deleted files, unfenced",
			in: "diff --git a/new.go b/new.go\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ b/new.go\n@@ -0,0 +1,2 @@\n+package x\n+\n" +
				"diff --git a/old.go b/old.go\ndeleted file mode 100644\n--- a/old.go\n+++ /dev/null\n@@ -1 +0,0 @@\n-package x\n\nThat is all.\n",
			want: []parsed{
				diff("new.go", true, false, 1, "+package x\n+\n"),
				diff("old.go", false, true, 2, "-package x\n"),
			},
		},
		{
			name: "two files in one fence, plain paths without a/ b/",
			in:   "```diff\n--- x.go\n+++ x.go\n@@ -1,1 +1,1 @@\n-a\n+b\n--- y.go\n+++ y.go\n@@ -10,2 +10,2 @@\n c\n-d\n+e\n```\n",
			want: []parsed{
				diff("x.go", false, false, 1, "-a\n+b\n"),
				diff("y.go", false, false, 2, " c\n-d\n+e\n"),
			},
		},
		{
			name: "hunk header without numbers and wrong counts",
			in:   "```diff\n--- a/x.go\n+++ b/x.go\n@@ ... @@\n one\n-two\n+2\n@@ -1,1 +1,1 @@\n three\n-four\n+4\n five\n```\n",
			want: []parsed{diff("x.go", false, false, 1, " one\n-two\n+2\n", " three\n-four\n+4\n five\n")},
		},
		{
			name: "headerless hunk with the path before the fence",
			in:   "`x.go`:\n```diff\n func f() {\n-\treturn 1\n+\treturn 2\n }\n```\n",
			want: []parsed{diff("x.go", false, false, 1, " func f() {\n-\treturn 1\n+\treturn 2\n }\n")},
		},
		{
			name: "blank context line without its space, and a context line missing its space",
			in:   "```diff\n--- a/x.go\n+++ b/x.go\n@@ -1,4 +1,4 @@\n a\n\nb\n-c\n+C\n\n```\n",
			want: []parsed{diff("x.go", false, false, 1, " a\n \n b\n-c\n+C\n")},
		},
		{
			name: "no newline at end of file marker",
			in:   "```diff\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n```\n",
			want: []parsed{diff("x.txt", false, false, 1, "-a\n+b\n")},
		},
		{
			name: "CRLF diff",
			in:   "```diff\r\n--- a/x.go\r\n+++ b/x.go\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n```\r\n",
			want: []parsed{diff("x.go", false, false, 1, "-a\n+b\n")},
		},
		{
			name: "unfenced diff ends at prose after the counts are met",
			in:   "--- a/x.go\n+++ b/x.go\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\n- this bullet is prose\n",
			want: []parsed{diff("x.go", false, false, 1, " a\n-b\n+c\n")},
		},
		{
			name:     "hunk with no changes",
			in:       "```diff\n--- a/x.go\n+++ b/x.go\n@@ -1,2 +1,2 @@\n a\n b\n```\n",
			findings: []string{edit.CategoryMalformed},
		},
		{
			name:     "hunk with no file",
			in:       "```diff\n@@ -1 +1 @@\n-a\n+b\n```\n",
			findings: []string{edit.CategoryMalformed},
		},
		{
			name:     "truncated response inside a hunk",
			in:       "```diff\n--- a/x.go\n+++ b/x.go\n@@ -1,10 +1,12 @@\n a\n-b\n+c\n",
			findings: []string{edit.CategoryMalformed},
		},
		{
			name:     "diff fence without hunks",
			in:       "```diff\nI would change the greeting.\n```\n",
			findings: []string{edit.CategoryMalformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			edits, findings := edit.Parse(tt.in)
			require.Equal(t, tt.want, nonNil(summarize(edits)))
			require.Equal(t, tt.findings, nonNilS(categories(findings)), "%v", findings)
		})
	}
}

func TestParseDiffHunkPositions(t *testing.T) {
	t.Parallel()
	edits, findings := edit.Parse("```diff\n--- a/x.txt\n+++ b/x.txt\n@@ -12,3 +12,4 @@ func f\n a\n+b\n c\n d\n```\n")
	require.Empty(t, findings)
	require.Len(t, edits, 1)
	h := edits[0].Hunks[0]
	require.Equal(t, []int{12, 3, 12, 4, 4}, []int{h.OldStart, h.OldLines, h.NewStart, h.NewLines, h.Line})
	require.Equal(t, "@@ -12,3 +12,4 @@ func f", h.Header)
	require.Equal(t, 2, edits[0].Line, "the --- line")
}

func TestParseSearchReplace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		want     []parsed
		findings []string
	}{
		{
			name: "aider style: path, fence, block",
			in:   "I'll fix the bug.\n\nserver/handler.go\n```go\n<<<<<<< SEARCH\n\treturn nil\n=======\n\treturn err\n>>>>>>> REPLACE\n```\n",
			want: []parsed{sr("server/handler.go", "\treturn nil\n", "\treturn err\n", 1)},
		},
		{
			name: "path inside the fence, two blocks, second for another file",
			in:   "```\nserver/a.go\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n\nserver/b.go\n<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n```\n",
			want: []parsed{sr("server/a.go", "a\n", "b\n", 1), sr("server/b.go", "c\n", "d\n", 2)},
		},
		{
			name: "two blocks in one fence share the path",
			in:   "x.go\n```go\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n<<<<<<< SEARCH\nc\n=======\n>>>>>>> REPLACE\n```\n",
			want: []parsed{sr("x.go", "a\n", "b\n", 1), sr("x.go", "c\n", "", 2)},
		},
		{
			name: "unfenced blocks",
			in:   "x.go\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n\ny.go\n<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\nDone.",
			want: []parsed{sr("x.go", "a\n", "b\n", 1), sr("y.go", "", "new\n", 2)},
		},
		{
			name: "mixed with a whole file in the same answer",
			in:   "x.go\n```go\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n\nx_test.go\n```go\npackage x\n```\n",
			want: []parsed{sr("x.go", "a\n", "b\n", 1), whole("x_test.go", "package x\n", 2)},
		},
		{
			name: "CRLF and marker lengths models get wrong",
			in:   "x.go\r\n```\r\n<<<<<<<< SEARCH\r\na\r\n========\r\nb\r\n>>>>>> REPLACE\r\n```\r\n",
			want: []parsed{sr("x.go", "a\n", "b\n", 1)},
		},
		{
			name:     "missing divider",
			in:       "x.go\n```\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n```\n",
			findings: []string{edit.CategoryMalformed},
		},
		{
			name:     "missing REPLACE marker, next block still parsed",
			in:       "x.go\n```\n<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n```\n",
			want:     []parsed{sr("x.go", "c\n", "d\n", 2)},
			findings: []string{edit.CategoryMalformed},
		},
		{
			name:     "no path anywhere",
			in:       "```\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n",
			findings: []string{edit.CategoryMalformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			edits, findings := edit.Parse(tt.in)
			require.Equal(t, tt.want, nonNil(summarize(edits)))
			require.Equal(t, tt.findings, nonNilS(categories(findings)), "%v", findings)
		})
	}
}

func TestParseMalformedFindingNamesBlockAndLine(t *testing.T) {
	t.Parallel()
	in := "a.go\n```\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n\nb.go\n```\n<<<<<<< SEARCH\nx\n=======\ny\n```\n"
	edits, findings := edit.Parse(in)
	require.Len(t, edits, 1)
	require.Len(t, findings, 1)
	f := findings[0]
	require.Equal(t, edit.CategoryMalformed, f.Category)
	require.Equal(t, 2, f.Block)
	require.Equal(t, 12, f.Line)
	require.Equal(t, "b.go", f.Path)
	require.Contains(t, f.Message, "block 2 (b.go)")
	require.Contains(t, f.Message, ">>>>>>> REPLACE")
}
