package static_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/static"
)

// TestSampleChangeWithStub changes a copy of examples/go-calc the way a skeletal proposal
// would, takes the change's lines from a real `git diff`, and checks only new lines are
// blamed.
func TestSampleChangeWithStub(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../../../examples/go-calc")))
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	git("init", "-q")
	// A marker that predates the change must not be reported.
	old, err := os.ReadFile(filepath.Join(dir, "strutil/strutil.go"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strutil/strutil.go"),
		[]byte(strings.Replace(string(old), "// WordCount counts", "// TODO: unicode spaces.\n// WordCount counts", 1)), 0o644))
	git("add", "-A")
	git("commit", "-q", "-m", "base")

	cur, err := os.ReadFile(filepath.Join(dir, "strutil/strutil.go"))
	require.NoError(t, err)
	base := strings.Count(string(cur), "\n") + 1
	stub := "\n// Title upper-cases each word.\nfunc Title(s string) string {\n\t// TODO: implement\n\tpanic(\"not implemented\")\n}\n\nfunc Trim(s string) {}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strutil/strutil.go"), append(cur, stub...), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "calc/token.go"), nil, 0o644))

	files := static.AddedLines(git("diff", "-U0"))
	findings, err := static.Check(dir, files)
	require.NoError(t, err)
	require.ElementsMatch(t, []loc{
		{"calc/token.go", 0, check.CategoryEmptiedFile},
		{"strutil/strutil.go", base + 3, check.CategoryStub}, // "TODO: implement" admits a stub
		{"strutil/strutil.go", base + 4, check.CategoryStub},
		{"strutil/strutil.go", base + 7, check.CategoryEmptyBody},
	}, locs(findings))
}
