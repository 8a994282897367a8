package edit_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/edit"
)

func TestCleanPath(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"a.go":             "a.go",
		"./pkg/a.go":       "pkg/a.go",
		"pkg//sub/./a.go":  "pkg/sub/a.go",
		`pkg\sub\a.go`:     "pkg/sub/a.go",
		".github/ci.yml":   ".github/ci.yml",
		".gitignore":       ".gitignore",
		"docs/.gitkeep":    "docs/.gitkeep",
		"a..b/c...go":      "a..b/c...go",
		"weird name/ü.txt": "weird name/ü.txt",
	}
	for in, want := range ok {
		got, err := edit.CleanPath(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	bad := []string{
		"", ".", "./", "/etc/passwd", "//server/share/x", `\\server\share\x`, `C:\Windows\x.txt`, "c:x.txt", "C:/x",
		"../x", "a/../../x", "a/..", "..", `..\x`, ".git/config", ".git", "sub/.git/hooks/pre-commit", ".GIT/config",
		".git./config", "a\x00b", "a\nb", "~/x", "~root/x", "dir/", string(make([]byte, 2000)),
	}
	for _, in := range bad {
		_, err := edit.CleanPath(in)
		require.ErrorIs(t, err, edit.ErrUnsafePath, "%q", in)
	}
}

// sandbox is a root inside a parent directory that also holds an "outside"
// directory with a sentinel file, so escapes have somewhere to land.
type sandbox struct {
	root, outside string
}

func newSandbox(t *testing.T) sandbox {
	t.Helper()
	base := t.TempDir()
	s := sandbox{root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{s.root, s.outside, filepath.Join(s.root, ".git"), filepath.Join(s.root, "real")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(s.outside, "secret.txt"), []byte("secret\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.root, ".git", "config"), []byte("[core]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.root, "real", "in.txt"), []byte("inside\n"), 0o644))
	return s
}

// snapshot records every file under dir (not following links).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link:" + target
			return err
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	}))
	return out
}

func TestApplyRefusesUnsafePaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, s sandbox)
		path  string
	}{
		{name: "absolute", path: "/tmp/x"},
		{name: "dot-dot", path: "../outside/secret.txt"},
		{name: "dot-dot after a directory", path: "real/../../outside/secret.txt"},
		{name: "into .git", path: ".git/config"},
		{name: "into a nested .git", path: "sub/.git/hooks/pre-commit"},
		{name: "NUL byte", path: "a\x00.go"},
		{name: "drive letter", path: `C:\outside\secret.txt`},
		{name: "UNC path", path: `\\host\share\x`},
		{name: "parent is a relative symlink out of root", path: "esc/secret.txt", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink("../outside", filepath.Join(s.root, "esc")))
		}},
		{name: "parent is an absolute symlink out of root", path: "abs/secret.txt", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink(s.outside, filepath.Join(s.root, "abs")))
		}},
		{name: "parent symlink chain ends outside", path: "hop1/secret.txt", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink("real/hop2", filepath.Join(s.root, "hop1")))
			require.NoError(t, os.Symlink("../../outside", filepath.Join(s.root, "real", "hop2")))
		}},
		{name: "parent symlink climbs through a missing directory", path: "ghost/secret.txt", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink("missing/../../outside", filepath.Join(s.root, "ghost")))
		}},
		{name: "parent symlink into .git", path: "g/config", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink(".git", filepath.Join(s.root, "g")))
		}},
		{name: "symlink loop", path: "loop/x", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink("loop", filepath.Join(s.root, "loop")))
		}},
		{name: "target is a symlink inside root", path: "link.txt", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink("real/in.txt", filepath.Join(s.root, "link.txt")))
		}},
		{name: "target is a dangling symlink out of root", path: "dangle.txt", setup: func(t *testing.T, s sandbox) {
			require.NoError(t, os.Symlink("../outside/new.txt", filepath.Join(s.root, "dangle.txt")))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			before := snapshot(t, filepath.Dir(s.root))
			// Every format, plus a good edit that must still apply.
			edits := []edit.Edit{
				{Path: tt.path, Format: edit.FormatWholeFile, Content: "pwned\n", Block: 1},
				{Path: tt.path, Format: edit.FormatSearchReplace, Search: "", Replace: "pwned\n", Block: 2},
				{Path: tt.path, Format: edit.FormatSearchReplace, Search: "secret\n", Replace: "pwned\n", Block: 3},
				{Path: tt.path, Format: edit.FormatUnifiedDiff, Create: true, Hunks: []edit.Hunk{{Lines: []edit.HunkLine{{Op: edit.OpAdd, Text: "pwned"}}}}, Block: 4},
				{Path: tt.path, Format: edit.FormatUnifiedDiff, Delete: true, Block: 5},
				{Path: "ok.txt", Format: edit.FormatWholeFile, Content: "fine\n", Block: 6},
			}
			res, findings, err := edit.Apply(s.root, edits)
			require.NoError(t, err)
			require.Equal(t, []string{"ok.txt"}, res.Files())
			require.Len(t, findings, 5)
			for i, f := range findings {
				require.Equal(t, edit.CategoryUnsafePath, f.Category, f.Message)
				require.Equal(t, i+1, f.Block)
				require.Contains(t, f.Message, "refused")
			}
			after := snapshot(t, filepath.Dir(s.root))
			require.Equal(t, "fine\n", after[filepath.Join("root", "ok.txt")])
			delete(after, filepath.Join("root", "ok.txt"))
			require.Equal(t, before, after, "nothing else changed, inside or outside root")
		})
	}
}

func TestApplyFollowsSymlinkedDirectoryInsideRoot(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	require.NoError(t, os.Symlink("real", filepath.Join(s.root, "alias")))
	res, findings, err := edit.Apply(s.root, []edit.Edit{
		{Path: "alias/in.txt", Format: edit.FormatSearchReplace, Search: "inside\n", Replace: "changed\n", Block: 1},
	})
	require.NoError(t, err)
	require.Empty(t, findings)
	require.Equal(t, []string{"alias/in.txt"}, res.Changed)
	b, err := os.ReadFile(filepath.Join(s.root, "real", "in.txt"))
	require.NoError(t, err)
	require.Equal(t, "changed\n", string(b))
	fi, err := os.Lstat(filepath.Join(s.root, "alias"))
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&fs.ModeSymlink, "the link itself is untouched")
}

func TestApplyDoesNotWriteThroughHardLinks(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	outsideFile := filepath.Join(s.outside, "secret.txt")
	if err := os.Link(outsideFile, filepath.Join(s.root, "hard.txt")); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			t.Skip("hard links not permitted here")
		}
		require.NoError(t, err)
	}
	res, findings, err := edit.Apply(s.root, []edit.Edit{
		{Path: "hard.txt", Format: edit.FormatWholeFile, Content: "pwned\n", Block: 1},
	})
	require.NoError(t, err)
	require.Empty(t, findings)
	require.Equal(t, []string{"hard.txt"}, res.Changed)
	b, err := os.ReadFile(outsideFile)
	require.NoError(t, err)
	require.Equal(t, "secret\n", string(b), "the file outside root keeps its content")
	b, err = os.ReadFile(filepath.Join(s.root, "hard.txt"))
	require.NoError(t, err)
	require.Equal(t, "pwned\n", string(b))
}
