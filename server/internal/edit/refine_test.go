package edit_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/edit"
)

// A context line of three backticks inside a ```diff fence closes the fence:
// the hunk before it changes nothing and the rest of the diff is left
// outside. The finding says so and how to fence instead.
func TestParseReportsADiffFenceClosedEarly(t *testing.T) {
	t.Parallel()
	response := strings.Join([]string{
		"README.md",
		"```diff",
		"--- a/README.md",
		"+++ b/README.md",
		"@@ -1,4 +1,5 @@",
		" Example:",
		" ```",
		"+go run .",
		" ```",
		"```",
		"",
		"Done.",
	}, "\n")
	edits, findings := edit.Parse(response)
	require.Empty(t, edits)
	require.Len(t, findings, 1, "%v", findings)
	f := findings[0]
	require.Equal(t, edit.CategoryMalformed, f.Category)
	require.Contains(t, f.Message, "changes nothing")
	require.Contains(t, f.Message, "closed early by line 7")
	require.Contains(t, f.Message, "more backticks than any run inside it")
	require.Contains(t, f.Message, "````")
}

func TestParseLongerFenceKeepsBackticksInsideADiff(t *testing.T) {
	t.Parallel()
	response := "````diff\n--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,4 @@\n Example:\n ```\n+go run .\n ```\n````\n"
	edits, findings := edit.Parse(response)
	require.Empty(t, findings)
	require.Len(t, edits, 1)
	root := tree(t, map[string]string{"README.md": "Example:\n```\n```\n"})
	res, af, err := edit.Apply(root, edits)
	require.NoError(t, err)
	require.Empty(t, af)
	require.Equal(t, 1, res.Applied)
	require.Equal(t, "Example:\n```\ngo run .\n```\n", read(t, root, "README.md"))
}

// A refinement repeating the previous cycle's pure addition is skipped with
// an already_applied finding instead of declaring the test twice.
func TestApplyPureAdditionAlreadyPresentIsNotAppliedTwice(t *testing.T) {
	t.Parallel()
	src := "package x\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n\nfunc TestX(t *testing.T) {\n\tt.Log(\"x\")\n}\n"
	root := tree(t, map[string]string{"x_test.go": src})
	diff := "```diff\n--- a/x_test.go\n+++ b/x_test.go\n@@ -5,1 +5,5 @@\n func TestA(t *testing.T) {}\n+\n+func TestX(t *testing.T) {\n+\tt.Log(\"x\")\n+}\n```\n"
	res, findings := applyText(t, root, diff)
	require.Len(t, findings, 1)
	require.Equal(t, edit.CategoryAlreadyApplied, findings[0].Category)
	require.Equal(t, 5, findings[0].TargetLine, "the finding names the target file's line")
	require.Contains(t, findings[0].Message, "not applied twice")
	require.Zero(t, res.Applied)
	require.Equal(t, src, read(t, root, "x_test.go"))

	sr := "x_test.go\n```go\n<<<<<<< SEARCH\nfunc TestA(t *testing.T) {}\n=======\nfunc TestA(t *testing.T) {}\n\nfunc TestX(t *testing.T) {\n\tt.Log(\"x\")\n}\n>>>>>>> REPLACE\n```\n"
	_, findings = applyText(t, root, sr)
	require.Len(t, findings, 1)
	require.Equal(t, edit.CategoryAlreadyApplied, findings[0].Category)
	require.Equal(t, src, read(t, root, "x_test.go"))
}

func TestApplyNotFoundNamesTheTargetLine(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{"a.go": "package a\n\nfunc One() int {\n\treturn 1\n}\n"})
	_, findings := applyText(t, root, "a.go\n```go\n<<<<<<< SEARCH\nfunc One() int {\n\treturn 2\n}\n=======\nfunc One() int { return 3 }\n>>>>>>> REPLACE\n```\n")
	require.Len(t, findings, 1)
	require.Equal(t, edit.CategorySearchNotFound, findings[0].Category)
	require.Equal(t, 3, findings[0].TargetLine)
	require.Equal(t, 3, findings[0].Line, "Line stays the answer's line")
}
