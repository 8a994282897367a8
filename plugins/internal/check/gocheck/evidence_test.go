package gocheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/internal/check"
	"github.com/moosehq/moose/plugins/internal/check/gocheck"
)

// testifyModule is a module that uses testify, as most real Go projects do.
// Its requirements are the ones Moose itself builds with, so they are in the
// module cache the sandbox binds (it has no network).
func testifyModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(sample(t), "..", "m")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "p"), 0o755))
	write(t, dir, "go.mod", "module example.com/m\n\ngo 1.22\n\nrequire github.com/stretchr/testify v1.12.1\n\nrequire go.yaml.in/yaml/v3 v3.0.6 // indirect\n")
	write(t, dir, "go.sum", `github.com/stretchr/testify v1.12.1 h1:EuwCh5fleGS7H32xRwO3wRGT7DxrDhLAT6FF8MpWDWE=
github.com/stretchr/testify v1.12.1/go.mod h1:MDEgiDPPsNp5cuIrHPPCyornHKgEVbtFUmoNlxoYthg=
go.yaml.in/yaml/v3 v3.0.6 h1:zcDfvjXEqTQmpjniUBLc91xYJMB2c4QOFxEF/LCEckM=
go.yaml.in/yaml/v3 v3.0.6/go.mod h1:HVTZu1O7/Vkt2N+BFy8Zza+lnLsABggaTM2ZpNIGuKg=
`)
	write(t, dir, "p/p.go", "package p\n\nfunc Half(n int) int { return n / 2 }\n\nfunc Index(s []int, i int) int {\n\treturn s[i]\n}\n\nfunc Rec(n int) int { return Rec(n+1) + 1 }\n")
	for rel, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		write(t, dir, rel, content)
	}
	return dir
}

func findingsOf(t *testing.T, rep check.Report, category string) []check.Finding {
	t.Helper()
	var out []check.Finding
	for _, f := range rep.Findings {
		if f.Category == category {
			out = append(out, f)
		}
	}
	return out
}

func TestTestifyFailureCarriesItsWholeBlock(t *testing.T) {
	t.Parallel()
	dir := testifyModule(t, map[string]string{"p/p_test.go": `package p

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHalf(t *testing.T) {
	assert.Equal(t, 3, Half(4), "half of %d", 4)
	require.Equal(t, "a\nb\nc", "a\nx\nc")
}
`})
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK, rep.Log)
	require.Equal(t, 1, rep.Tests.Failed)
	fs := findingsOf(t, rep, check.CategoryTestFailure)
	require.Len(t, fs, 1, "%+v", rep.Findings)
	f := fs[0]
	require.Equal(t, "p/p_test.go", f.File)
	require.Equal(t, 11, f.Line)
	// Before: "TestHalf: " and nothing else.
	for _, want := range []string{
		"TestHalf: Not equal",
		"Error Trace: p/p_test.go:11", // relative to the worktree, not the sandbox's absolute path
		"expected: 3",
		"actual  : 2",
		"Messages:",
		"half of 4",
		"p_test.go:12:", // the second failure too
		"-b",
		"+x",
	} {
		require.Contains(t, f.Message, want)
	}
	require.NotContains(t, f.Message, dir)
}

func TestPanicIsLocatedAtItsProjectFrame(t *testing.T) {
	t.Parallel()
	dir := testifyModule(t, map[string]string{"p/p_test.go": "package p\n\nimport \"testing\"\n\nfunc TestIndex(t *testing.T) {\n\t_ = Index(nil, 3)\n}\n"})
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	fs := findingsOf(t, rep, check.CategoryTestFailure)
	require.Len(t, fs, 1, "%+v", rep.Findings)
	f := fs[0]
	// Before: located at ".:0" with "(panicked)" and no value.
	require.Equal(t, "p/p.go", f.File)
	require.Equal(t, 6, f.Line)
	require.Contains(t, f.Message, "TestIndex panicked: runtime error: index out of range [3] with length 0")
	require.Contains(t, f.Message, "at p/p.go:6 in p.Index")
	require.Contains(t, f.Message, "p/p_test.go:6 in p.TestIndex")
}

func TestHungTestIsATimeoutNamedByGo(t *testing.T) {
	t.Parallel()
	dir := testifyModule(t, map[string]string{"p/p_test.go": "package p\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestFine(t *testing.T) {}\n\nfunc TestHang(t *testing.T) {\n\tfor {\n\t\ttime.Sleep(time.Millisecond)\n\t}\n}\n"})
	o := gocheck.Options{Runner: check.Runner{Timeout: 30 * time.Second}}
	rep, err := gocheck.Test(context.Background(), dir, o)
	require.NoError(t, err)
	require.False(t, rep.OK)
	fs := findingsOf(t, rep, check.CategoryTimeout)
	require.Len(t, fs, 1, "%+v", rep.Findings)
	f := fs[0]
	require.Equal(t, "TestHang timed out after "+gocheck.GoTestTimeout(30*time.Second).String()+"\nat p/p_test.go:12 in p.TestHang", f.Message)
	require.Equal(t, "p/p_test.go", f.File)
	require.Equal(t, 12, f.Line)
	require.Equal(t, 1, rep.Tests.Failed, "the hung test counts as failed")
	require.Equal(t, 1, rep.Tests.Passed)
}

func TestSandboxKillIsATimeout(t *testing.T) {
	t.Parallel()
	// A TestMain that never starts the tests: Go's alarm is never armed, so
	// the sandbox's limit ends the command.
	dir := testifyModule(t, map[string]string{"p/p_test.go": "package p\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestMain(m *testing.M) {\n\tfor {\n\t\ttime.Sleep(time.Millisecond)\n\t}\n}\n\nfunc TestNever(t *testing.T) {}\n"})
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{Runner: check.Runner{Timeout: 3 * time.Second}})
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.True(t, rep.TimedOut)
	fs := findingsOf(t, rep, check.CategoryTimeout)
	require.Len(t, fs, 1, "%+v", rep.Findings)
	require.True(t, strings.HasPrefix(fs[0].Message, "the test command timed out after 3s"), fs[0].Message)
	for _, f := range rep.Findings {
		require.NotContains(t, f.Message, "may not compile")
	}
}

func TestStackOverflowAndFatalErrorsByName(t *testing.T) {
	t.Parallel()
	dir := testifyModule(t, map[string]string{
		"p/p_test.go": "package p\n\nimport (\n\t\"runtime/debug\"\n\t\"testing\"\n)\n\nfunc TestRec(t *testing.T) {\n\tdebug.SetMaxStack(1 << 20)\n\t_ = Rec(0)\n}\n",
		"q/q.go":      "package q\n",
		"q/q_test.go": "package q\n\nimport (\n\t\"sync\"\n\t\"testing\"\n)\n\nfunc TestUnlock(t *testing.T) {\n\tvar mu sync.Mutex\n\tmu.Unlock()\n}\n",
	})
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	require.False(t, rep.OK)
	byFile := map[string]check.Finding{}
	for _, f := range rep.Findings {
		byFile[f.File] = f
	}
	ovf := byFile["p/p.go"]
	require.Contains(t, ovf.Message, "TestRec: fatal error: stack overflow", "%+v", rep.Findings)
	require.Equal(t, 9, ovf.Line)
	fatal := byFile["q/q_test.go"]
	require.Contains(t, fatal.Message, "TestUnlock: fatal error: sync: unlock of unlocked mutex", "%+v", rep.Findings)
	require.Equal(t, 10, fatal.Line)
	require.Equal(t, 2, rep.Tests.Failed)
}

func TestFailureAfterLongOutputIsKept(t *testing.T) {
	t.Parallel()
	// 200 KiB of logging before the failure: a buffer that kept only the
	// first bytes of a test's output lost the failure itself.
	dir := testifyModule(t, map[string]string{"p/p_test.go": "package p\n\nimport (\n\t\"strings\"\n\t\"testing\"\n)\n\nfunc TestNoisy(t *testing.T) {\n\tfor i := 0; i < 2000; i++ {\n\t\tt.Log(strings.Repeat(\"x\", 100))\n\t}\n\tt.Errorf(\"the real failure: got %d\", Half(3))\n}\n"})
	rep, err := gocheck.Test(context.Background(), dir, gocheck.Options{})
	require.NoError(t, err)
	fs := findingsOf(t, rep, check.CategoryTestFailure)
	require.Len(t, fs, 1)
	require.True(t, strings.HasPrefix(fs[0].Message, "TestNoisy: the real failure: got 1\n"), fs[0].Message)
	require.Contains(t, fs[0].Message, "more lines")
	require.LessOrEqual(t, len(fs[0].Message), gocheck.MessageLimit+100)
	require.Equal(t, 12, fs[0].Line)
	require.Contains(t, rep.Log, "the real failure: got 1")
}

func TestHeadTailKeepsBothEnds(t *testing.T) {
	t.Parallel()
	h := check.NewHeadTail(100)
	h.WriteString("HEAD")
	for i := 0; i < 1000; i++ {
		h.WriteString(strings.Repeat("x", 37))
	}
	h.WriteString("TAIL")
	s := h.String()
	require.True(t, strings.HasPrefix(s, "HEAD"))
	require.True(t, strings.HasSuffix(s, "TAIL"))
	require.Contains(t, s, "bytes trimmed")
	require.Less(t, len(s), 200)
	small := check.NewHeadTail(100)
	small.WriteString("short")
	require.Equal(t, "short", small.String())
	var none *check.HeadTail
	require.Empty(t, none.String())
}
