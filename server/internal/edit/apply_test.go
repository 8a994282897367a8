package edit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/edit"
)

// tree writes files (path → content) under a new temp dir and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
	return root
}

func read(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	require.NoError(t, err)
	return string(b)
}

// applyText parses response and applies it to root.
func applyText(t *testing.T, root, response string) (edit.Result, []edit.Finding) {
	t.Helper()
	edits, findings := edit.Parse(response)
	require.Empty(t, findings, "parse findings")
	res, findings, err := edit.Apply(root, edits)
	require.NoError(t, err)
	return res, findings
}

const handler = `package server

import "errors"

// Get returns the item.
func Get(id string) (string, error) {
	if id == "" {
		return "", errors.New("empty id")
	}
	return lookup(id)
}

func lookup(id string) (string, error) {
	return id, nil
}
`

func TestApplyText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		files    map[string]string
		response string
		want     map[string]string
		result   edit.Result
	}{
		{
			name:     "whole file creates a file and its directories",
			response: "pkg/deep/new.go\n```go\npackage deep\n```\n",
			want:     map[string]string{"pkg/deep/new.go": "package deep\n"},
			result:   edit.Result{Created: []string{"pkg/deep/new.go"}, Applied: 1},
		},
		{
			name:     "whole file replaces a file, keeping CRLF endings",
			files:    map[string]string{"a.txt": "one\r\ntwo\r\n"},
			response: "a.txt\n```\none\n2\n```\n",
			want:     map[string]string{"a.txt": "one\r\n2\r\n"},
			result:   edit.Result{Changed: []string{"a.txt"}, Applied: 1},
		},
		{
			name:     "identical whole file changes nothing",
			files:    map[string]string{"a.txt": "same\n"},
			response: "a.txt\n```\nsame\n```\n",
			want:     map[string]string{"a.txt": "same\n"},
			result:   edit.Result{Applied: 1},
		},
		{
			name:     "search/replace, exact",
			files:    map[string]string{"server/get.go": handler},
			response: "server/get.go\n```go\n<<<<<<< SEARCH\n\treturn id, nil\n=======\n\treturn strings.ToUpper(id), nil\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"server/get.go": strings.Replace(handler, "\treturn id, nil", "\treturn strings.ToUpper(id), nil", 1)},
			result:   edit.Result{Changed: []string{"server/get.go"}, Applied: 1},
		},
		{
			name:  "search/replace with indentation drift re-indents the replacement",
			files: map[string]string{"server/get.go": handler},
			// The model indented with four spaces; the file uses tabs.
			response: "server/get.go\n```go\n<<<<<<< SEARCH\n    if id == \"\" {\n        return \"\", errors.New(\"empty id\")\n    }\n=======\n    if id == \"\" {\n        return \"\", ErrEmpty\n    }\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"server/get.go": strings.Replace(handler, "errors.New(\"empty id\")", "ErrEmpty", 1)},
			result:   edit.Result{Changed: []string{"server/get.go"}, Applied: 1},
		},
		{
			name:     "search/replace ignoring trailing whitespace in the file",
			files:    map[string]string{"a.py": "def f():  \n    return 1\n"},
			response: "a.py\n```python\n<<<<<<< SEARCH\ndef f():\n    return 1\n=======\ndef f():\n    return 2\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"a.py": "def f():\n    return 2\n"},
			result:   edit.Result{Changed: []string{"a.py"}, Applied: 1},
		},
		{
			name:     "search/replace inside one line",
			files:    map[string]string{"a.go": "x := compute(1, 2)\n"},
			response: "a.go\n```\n<<<<<<< SEARCH\ncompute(1, 2)\n=======\ncompute(1, 3)\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"a.go": "x := compute(1, 3)\n"},
			result:   edit.Result{Changed: []string{"a.go"}, Applied: 1},
		},
		{
			name:     "search/replace keeps a missing trailing newline and CRLF",
			files:    map[string]string{"a.txt": "a\r\nb\r\nc"},
			response: "a.txt\n```\n<<<<<<< SEARCH\nb\n=======\nB\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"a.txt": "a\r\nB\r\nc"},
			result:   edit.Result{Changed: []string{"a.txt"}, Applied: 1},
		},
		{
			name:     "several blocks for one file apply in order",
			files:    map[string]string{"a.txt": "1\n2\n3\n"},
			response: "a.txt\n```\n<<<<<<< SEARCH\n1\n=======\none\n>>>>>>> REPLACE\n<<<<<<< SEARCH\none\n2\n=======\none\ntwo\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"a.txt": "one\ntwo\n3\n"},
			result:   edit.Result{Changed: []string{"a.txt"}, Applied: 2},
		},
		{
			name:     "empty SEARCH creates a file, then appends to one",
			files:    map[string]string{"log.txt": "first\n"},
			response: "new/file.txt\n```\n<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE\n```\nlog.txt\n```\n<<<<<<< SEARCH\n=======\nsecond\n>>>>>>> REPLACE\n```\n",
			want:     map[string]string{"new/file.txt": "hello\n", "log.txt": "first\nsecond\n"},
			result:   edit.Result{Created: []string{"new/file.txt"}, Changed: []string{"log.txt"}, Applied: 2},
		},
		{
			name:  "diff with wrong line numbers lands on the nearest match",
			files: map[string]string{"a.txt": "x\nsame\nx\n" + strings.Repeat("pad\n", 30) + "x\nsame\nx\n"},
			// Header says line 33: the second "x/same/x" (lines 34-36) is
			// nearer than the first.
			response: "```diff\n--- a/a.txt\n+++ b/a.txt\n@@ -33,3 +33,3 @@\n x\n-same\n+changed\n x\n```\n",
			want:     map[string]string{"a.txt": "x\nsame\nx\n" + strings.Repeat("pad\n", 30) + "x\nchanged\nx\n"},
			result:   edit.Result{Changed: []string{"a.txt"}, Applied: 1},
		},
		{
			name:  "diff hunks after a wrong first header follow the drift",
			files: map[string]string{"a.txt": "h\n" + strings.Repeat("p\n", 10) + "k\nq\n" + strings.Repeat("p\n", 10) + "k\nq\n"},
			// Both hunks claim the file starts 100 lines earlier than it does.
			response: "```diff\n--- a/a.txt\n+++ b/a.txt\n@@ -1,1 +1,1 @@\n-h\n+H\n@@ -12,2 +12,2 @@\n k\n-q\n+Q\n```\n",
			want:     map[string]string{"a.txt": "H\n" + strings.Repeat("p\n", 10) + "k\nQ\n" + strings.Repeat("p\n", 10) + "k\nq\n"},
			result:   edit.Result{Changed: []string{"a.txt"}, Applied: 1},
		},
		{
			name:     "diff with indentation drift",
			files:    map[string]string{"server/get.go": handler},
			response: "```diff\n--- a/server/get.go\n+++ b/server/get.go\n@@ -14,3 +14,3 @@\n func lookup(id string) (string, error) {\n-  return id, nil\n+  return \"item-\" + id, nil\n }\n```\n",
			want:     map[string]string{"server/get.go": strings.Replace(handler, "return id, nil", "return \"item-\" + id, nil", 1)},
			result:   edit.Result{Changed: []string{"server/get.go"}, Applied: 1},
		},
		{
			name:     "diff creates, deletes and inserts",
			files:    map[string]string{"old.txt": "bye\n", "list.txt": "a\nc\n"},
			response: "```diff\n--- /dev/null\n+++ b/dir/new.txt\n@@ -0,0 +1,2 @@\n+hello\n+world\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n--- a/list.txt\n+++ b/list.txt\n@@ -1,0 +2,1 @@\n+b\n```\n",
			want:     map[string]string{"dir/new.txt": "hello\nworld\n", "list.txt": "a\nb\nc\n"},
			result:   edit.Result{Created: []string{"dir/new.txt"}, Changed: []string{"list.txt"}, Deleted: []string{"old.txt"}, Applied: 3},
		},
		{
			name:     "diff removes the trailing newline",
			files:    map[string]string{"a.txt": "a\nb\n"},
			response: "```diff\n--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file\n```\n",
			want:     map[string]string{"a.txt": "a\nc"},
			result:   edit.Result{Changed: []string{"a.txt"}, Applied: 1},
		},
		{
			name:     "backslash path is read as a relative path",
			response: "pkg\\win.go\n```go\npackage pkg\n```\n",
			want:     map[string]string{"pkg/win.go": "package pkg\n"},
			result:   edit.Result{Created: []string{"pkg/win.go"}, Applied: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := tree(t, tt.files)
			res, findings := applyText(t, root, tt.response)
			require.Empty(t, findings)
			require.Equal(t, tt.result, res)
			for p, c := range tt.want {
				require.Equal(t, c, read(t, root, p), p)
			}
			for _, p := range res.Deleted {
				require.NoFileExists(t, filepath.Join(root, p))
			}
		})
	}
}

func TestApplyPreservesModeAndCreatesWith0644(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{"run.sh": "#!/bin/sh\necho hi\n"})
	require.NoError(t, os.Chmod(filepath.Join(root, "run.sh"), 0o755))
	res, findings := applyText(t, root, "run.sh\n```sh\n#!/bin/sh\necho hello\n```\nnew.txt\n```\nx\n```\n")
	require.Empty(t, findings)
	require.Equal(t, []string{"new.txt", "run.sh"}, res.Files())
	fi, err := os.Stat(filepath.Join(root, "run.sh"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(root, "new.txt"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary files left behind")
}

func TestApplySearchNotFoundShowsNearestLines(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{"server/get.go": handler})
	// Block 1 applies; block 2's SEARCH has a wrong error message and a
	// renamed variable, so it matches nothing.
	response := "server/get.go\n```go\n<<<<<<< SEARCH\nfunc lookup(id string) (string, error) {\n=======\nfunc lookup(key string) (string, error) {\n>>>>>>> REPLACE\n```\n\n" +
		"server/get.go\n```go\n<<<<<<< SEARCH\n\tif ident == \"\" {\n\t\treturn \"\", errors.New(\"missing id\")\n\t}\n=======\n\tif id == \"\" {\n\t\treturn \"\", ErrEmpty\n\t}\n>>>>>>> REPLACE\n```\n"
	res, findings := applyText(t, root, response)
	require.Equal(t, []string{"server/get.go"}, res.Changed)
	require.Equal(t, 1, res.Applied)
	require.Len(t, findings, 1)
	f := findings[0]
	require.Equal(t, edit.CategorySearchNotFound, f.Category)
	require.Equal(t, 2, f.Block)
	require.Equal(t, "server/get.go", f.Path)
	require.Equal(t, 12, f.Line)
	require.Contains(t, f.Message, "SEARCH/REPLACE block 2 (server/get.go)")
	require.Contains(t, f.Message, "lines 7-9")
	require.Contains(t, f.Message, "7| \tif id == \"\" {\n8| \t\treturn \"\", errors.New(\"empty id\")\n9| \t}")
	require.Contains(t, read(t, root, "server/get.go"), "func lookup(key string)")
}

func TestApplySearchNotFoundNotesAlreadyApplied(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{"a.txt": "alpha\nbeta\n"})
	_, findings := applyText(t, root, "a.txt\n```\n<<<<<<< SEARCH\nALPHA\n=======\nbeta\n>>>>>>> REPLACE\n```\n")
	require.Len(t, findings, 1)
	require.Contains(t, findings[0].Message, "already in a.txt starting at line 2")
}

func TestApplyHunkNotFound(t *testing.T) {
	t.Parallel()
	root := tree(t, map[string]string{"server/get.go": handler})
	res, findings := applyText(t, root, "```diff\n--- a/server/get.go\n+++ b/server/get.go\n@@ -14,3 +14,3 @@\n func lookup(name string) (string, error) {\n-\treturn name, nil\n+\treturn strings.ToLower(name), nil\n }\n```\n")
	require.Empty(t, res.Files())
	require.Len(t, findings, 1)
	f := findings[0]
	require.Equal(t, edit.CategorySearchNotFound, f.Category)
	require.Contains(t, f.Message, "diff block 1 (server/get.go), hunk 1 of 1 (@@ -14,3 +14,3 @@)")
	require.Contains(t, f.Message, "13| func lookup(id string) (string, error) {")
	require.Equal(t, handler, read(t, root, "server/get.go"))
}

func TestApplyFileFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		files    map[string]string
		response string
		category string
		contains string
	}{
		{"search in a missing file", nil, "nope.go\n```\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```\n", edit.CategoryFileNotFound, "leave the SEARCH section empty"},
		{"diff against a missing file", nil, "```diff\n--- a/nope.go\n+++ b/nope.go\n@@ -1 +1 @@\n-a\n+b\n```\n", edit.CategoryFileNotFound, "--- /dev/null"},
		{"delete a missing file", nil, "```diff\n--- a/nope.go\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n```\n", edit.CategoryFileNotFound, "does not exist"},
		{"create over an existing file", map[string]string{"a.go": "old\n"}, "```diff\n--- /dev/null\n+++ b/a.go\n@@ -0,0 +1 @@\n+new\n```\n", edit.CategoryConflict, "already exists"},
		{"write to a directory", map[string]string{"dir/sub/x": ""}, "dir/sub\n```\nx\n```\n", edit.CategoryConflict, "is a directory"},
		{"parent is a file", map[string]string{"f": ""}, "f/x.go\n```\nx\n```\n", edit.CategoryConflict, "is a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := tree(t, tt.files)
			res, findings := applyText(t, root, tt.response)
			require.Empty(t, res.Files())
			require.Len(t, findings, 1)
			require.Equal(t, tt.category, findings[0].Category)
			require.Contains(t, findings[0].Message, tt.contains)
			for p, c := range tt.files {
				require.Equal(t, c, read(t, root, p))
			}
		})
	}
}

func TestApplyMissingRoot(t *testing.T) {
	t.Parallel()
	_, _, err := edit.Apply(filepath.Join(t.TempDir(), "absent"), nil)
	require.Error(t, err)
}

func TestPolicyRefusesGitMetadata(t *testing.T) {
	t.Parallel()
	for _, p := range []string{".gitattributes", "sub/dir/.gitattributes", ".gitmodules", ".lfsconfig"} {
		root := t.TempDir()
		edits := []edit.Edit{
			{Format: edit.FormatWholeFile, Path: p, Content: "* filter=x\n"},
			{Format: edit.FormatWholeFile, Path: "ok.txt", Content: "fine\n"},
		}
		res, findings, err := edit.Apply(root, edits)
		require.NoError(t, err)
		require.Equal(t, 1, res.Applied, p)
		require.Len(t, findings, 1, p)
		require.Equal(t, edit.CategoryRefusedPath, findings[0].Category)
		require.Contains(t, findings[0].Message, "may not change")
		_, statErr := os.Stat(filepath.Join(root, p))
		require.ErrorIs(t, statErr, os.ErrNotExist, p)

		res, findings, err = edit.ApplyWith(t.TempDir(), edits, edit.Policy{AllowGitMetadata: true})
		require.NoError(t, err)
		require.Empty(t, findings, p)
		require.Equal(t, 2, res.Applied)
	}
}
