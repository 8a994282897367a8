package edit_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/edit"
)

// seeds are realistic and hostile responses shared by both fuzzers.
var seeds = []string{
	"",
	"cmd/app/main.go\n```go\npackage main\n\nfunc main() {}\n```\n",
	"### `a/b.go`\n~~~go\npackage b\n~~~\n",
	"README.md\n````markdown\n# T\n```\nx\n```\n````\n",
	"```go x.go\npackage x\n",
	"x.go\n```go\n<<<<<<< SEARCH\nreturn nil\n=======\nreturn err\n>>>>>>> REPLACE\n```\n",
	"x.go\n<<<<<<< SEARCH\n=======\nnew\n>>>>>>> REPLACE\n",
	"x.go\n```\n<<<<<<< SEARCH\na\n=======\nb\n```\n",
	"```diff\n--- a/x.go\n+++ b/x.go\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n```\n",
	"diff --git a/n.go b/n.go\nnew file mode 100644\n--- /dev/null\n+++ b/n.go\n@@ -0,0 +1 @@\n+package n\n",
	"--- a/x.go\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n",
	"```diff\n@@ ... @@\n-a\n+b\n```\n",
	"```diff\n--- a/x.go\n+++ b/x.go\n@@ -1,99 +1,99 @@\n-a\n",
	"../../outside/secret.txt\n```\npwned\n```\n",
	"/etc/passwd\n```\npwned\n```\n",
	".git/config\n```\npwned\n```\n",
	"esc/secret.txt\n```\npwned\n```\n",
	"esc/secret.txt\n```\n<<<<<<< SEARCH\nsecret\n=======\npwned\n>>>>>>> REPLACE\n```\n",
	"```diff\n--- a/esc/secret.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-secret\n```\n",
	"link.txt\n```\npwned\n```\n",
	"gitlink/config\n```\npwned\n```\n",
	"C:\\x.txt\n```\npwned\n```\n",
	"x.go\r\n```\r\n<<<<<<< SEARCH\r\nb\r\n=======\r\nB\r\n>>>>>>> REPLACE\r\n```\r\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	valid := []string{edit.CategoryMalformed, edit.CategoryNoEdits}
	f.Fuzz(func(t *testing.T, response string) {
		edits, findings := edit.Parse(response)
		if len(edits) == 0 {
			require.NotEmpty(t, findings, "an answer with no edits always says why")
		}
		blocks := map[int]bool{}
		for _, e := range edits {
			require.NotEmpty(t, e.Path)
			require.True(t, e.Format.Valid())
			require.Positive(t, e.Block)
			require.Positive(t, e.Line)
			require.False(t, blocks[e.Block], "block numbers are unique")
			blocks[e.Block] = true
			if e.Format == edit.FormatUnifiedDiff && !e.Create && !e.Delete {
				require.NotEmpty(t, e.Hunks)
			}
		}
		for _, fd := range findings {
			require.Contains(t, valid, fd.Category)
			require.NotEmpty(t, fd.Message)
		}
	})
}

// FuzzApply applies parsed responses, and an edit built straight from the
// fuzzed path, to a sandbox whose root holds a .git directory, a symlink out
// of the root, a symlink to .git and a symlink to a file, and checks that
// nothing outside the root or inside .git ever changes.
func FuzzApply(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, "esc/secret.txt", "secret\n")
	}
	f.Add("", "../outside/secret.txt", "")
	f.Add("", "gitlink/config", "[core]\n")
	f.Add("", "real/in.txt", "inside\n")
	f.Fuzz(func(t *testing.T, response, path, search string) {
		s := newSandbox(t)
		require.NoError(t, os.Symlink("../outside", filepath.Join(s.root, "esc")))
		require.NoError(t, os.Symlink(".git", filepath.Join(s.root, "gitlink")))
		require.NoError(t, os.Symlink("real/in.txt", filepath.Join(s.root, "link.txt")))
		outsideBefore := snapshot(t, s.outside)
		gitBefore := snapshot(t, filepath.Join(s.root, ".git"))
		siblings := siblingsOf(t, s)

		edits, _ := edit.Parse(response)
		edits = append(edits,
			edit.Edit{Path: path, Format: edit.FormatWholeFile, Content: response, Block: 100},
			edit.Edit{Path: path, Format: edit.FormatSearchReplace, Search: search, Replace: response, Block: 101},
			edit.Edit{Path: path, Format: edit.FormatUnifiedDiff, Delete: true, Block: 102},
		)
		res, findings, err := edit.Apply(s.root, edits)
		require.NoError(t, err)

		require.Equal(t, outsideBefore, snapshot(t, s.outside), "outside root changed")
		require.Equal(t, gitBefore, snapshot(t, filepath.Join(s.root, ".git")), ".git changed")
		require.Equal(t, siblings, siblingsOf(t, s), "something appeared beside root")
		for _, p := range res.Files() {
			clean, err := edit.CleanPath(p)
			require.NoError(t, err)
			require.Equal(t, clean, p)
		}
		for _, fd := range findings {
			require.NotEmpty(t, fd.Message)
		}
	})
}

func siblingsOf(t *testing.T, s sandbox) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(s.root))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestFindingString(t *testing.T) {
	t.Parallel()
	f := edit.Finding{Category: edit.CategoryMalformed, Message: "block 1: bad"}
	require.Equal(t, "[malformed_edit] block 1: bad", f.String())
	require.True(t, strings.Contains(edit.Feedback([]edit.Finding{f, f}), "bad\n\n[malformed_edit]"))
}
