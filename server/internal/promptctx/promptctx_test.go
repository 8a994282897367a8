package promptctx_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/promptctx"
)

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// newRepo makes a real git worktree: a small Go service, a pile of unrelated
// files, ignored build output and secrets, a binary and an oversized file.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, ".gitignore", "dist/\nsecrets.env\n")
	write(t, dir, "go.mod", "module example.com/shop\n\ngo 1.22\n")
	write(t, dir, "web/package.json", `{"name":"web","dependencies":{"react":"18.0.0"}}`)
	write(t, dir, "internal/auth/token.go", "package auth\n\n// ParseToken checks a bearer token's expiry.\nfunc ParseToken(s string) (Claims, error) { return parseClaims(s) }\n")
	write(t, dir, "internal/auth/claims.go", "package auth\n\ntype Claims struct{ Subject string }\n")
	write(t, dir, "internal/billing/invoice.go", "package billing\n\ntype Invoice struct{ Total int }\n")
	for i := range 60 {
		write(t, dir, fmt.Sprintf("internal/catalog/item%02d.go", i),
			fmt.Sprintf("package catalog\n\n// Item%d is a product.\ntype Item%d struct{ Name string }\n%s", i, i, strings.Repeat("// filler\n", 30)))
	}
	write(t, dir, "dist/token.go", "package dist // ParseToken expiry token bearer\n")
	write(t, dir, "secrets.env", "TOKEN=ParseToken\n")
	write(t, dir, "internal/auth/token.bin", "ParseToken\x00\x01expiry")
	write(t, dir, "internal/auth/token_fixtures.txt", strings.Repeat("ParseToken expiry bearer token\n", 2000))
	run := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@t.invalid"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	run("init", "-q")
	run("add", "-A")
	run("commit", "-q", "-m", "init")
	// Untracked but not ignored: the proposer should see it.
	write(t, dir, "internal/auth/refresh.go", "package auth\n\n// RefreshToken renews an expired bearer token.\nfunc RefreshToken() {}\n")
	return dir
}

func paths(files []promptctx.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func TestBuildPicksRelevantFilesAndManifests(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	wo := promptctx.WorkOrder{
		Title:              "Reject expired bearer tokens",
		Description:        "ParseToken must return ErrExpired when the token's expiry is in the past.",
		AcceptanceCriteria: []string{"a table test covers expired and valid tokens"},
	}
	got, err := promptctx.Build(context.Background(), dir, wo, promptctx.Options{})
	require.NoError(t, err)
	require.LessOrEqual(t, got.Size(), promptctx.DefaultByteBudget)
	require.False(t, got.TreeTruncated)
	require.Contains(t, got.FileTree, "internal/auth/refresh.go", "untracked files are listed")

	ps := paths(got.Files)
	require.Contains(t, ps, "go.mod")
	require.Contains(t, ps, "web/package.json")
	require.Equal(t, "manifest", got.Files[0].Reason)
	require.Contains(t, ps, "internal/auth/token.go")
	require.Contains(t, ps, "internal/auth/refresh.go")
	// The first non-manifest file is the one defining ParseToken.
	for _, f := range got.Files {
		if f.Reason != "manifest" {
			require.Equal(t, "internal/auth/token.go", f.Path)
			require.Contains(t, f.Reason, "parsetoken")
			require.Contains(t, f.Content, "func ParseToken")
			break
		}
	}
	require.NotContains(t, ps, "internal/billing/invoice.go", "irrelevant file")
	require.NotContains(t, ps, "internal/auth/token.bin", "binary file")
	require.NotContains(t, ps, "internal/auth/token_fixtures.txt", "file over the per-file cap")
}

func TestBuildExcludesIgnoredFiles(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	wo := promptctx.WorkOrder{Title: "ParseToken expiry", Description: "see dist/token.go and secrets.env"}
	got, err := promptctx.Build(context.Background(), dir, wo, promptctx.Options{})
	require.NoError(t, err)
	for _, p := range append(got.FileTree, paths(got.Files)...) {
		require.NotEqual(t, "secrets.env", p)
		require.False(t, strings.HasPrefix(p, "dist/"), p)
	}
}

func TestBuildNamedPathWins(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	wo := promptctx.WorkOrder{
		Title:       "Add tax to invoices",
		Description: "Change internal/billing/invoice.go so Total includes VAT, and add internal/billing/tax.go.",
	}
	got, err := promptctx.Build(context.Background(), dir, wo, promptctx.Options{})
	require.NoError(t, err)
	var first promptctx.File
	for _, f := range got.Files {
		if f.Reason != "manifest" {
			first = f
			break
		}
	}
	require.Equal(t, "internal/billing/invoice.go", first.Path)
	require.Equal(t, "named in work order", first.Reason)
}

func TestBuildRespectsBudgets(t *testing.T) {
	t.Parallel()
	dir := newRepo(t)
	wo := promptctx.WorkOrder{Title: "Rename Item fields", Description: "Every catalog Item gets a Name and a product filler"}
	for _, budget := range []int{512, 2048, 8 << 10} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			t.Parallel()
			got, err := promptctx.Build(context.Background(), dir, wo, promptctx.Options{ByteBudget: budget, MaxTreeEntries: 10, MaxFileBytes: 1024})
			require.NoError(t, err)
			require.LessOrEqual(t, got.Size(), budget)
			require.LessOrEqual(t, len(got.FileTree), 10)
			require.True(t, got.TreeTruncated)
			require.Contains(t, got.FileTree, "go.mod", "shallow paths survive truncation")
			for _, f := range got.Files {
				require.LessOrEqual(t, len(f.Content), 1024)
			}
		})
	}
	big, err := promptctx.Build(context.Background(), dir, wo, promptctx.Options{ByteBudget: 8 << 10})
	require.NoError(t, err)
	require.Greater(t, len(big.Files), 3, "a larger budget holds more catalog files")
}

func TestBuildOutsideRepository(t *testing.T) {
	t.Parallel()
	_, err := promptctx.Build(context.Background(), t.TempDir(), promptctx.WorkOrder{Title: "x"}, promptctx.Options{})
	require.ErrorIs(t, err, promptctx.ErrNotRepository)
}
