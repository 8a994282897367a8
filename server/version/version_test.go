package version_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/version"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{
			name: "pseudo-version, modified tree",
			bi: &debug.BuildInfo{
				Main: debug.Module{Path: "github.com/moosehq/moose", Version: "v0.0.0-20261203083112-e32ed0da2d4a+dirty"},
				Settings: vcs("-buildmode", "exe", "vcs", "git", "vcs.revision", "e32ed0da2d4a57ec25b00e61e9806b5e8ae717e3",
					"vcs.time", "2026-12-03T08:31:12Z", "vcs.modified", "true"),
			},
			want: "moosectl v0.0.0-20261203083112-e32ed0da2d4a+dirty (commit e32ed0da2d4a, 2026-12-03T08:31:12Z, modified)",
		},
		{
			name: "tagged, clean tree",
			bi: &debug.BuildInfo{
				Main:     debug.Module{Version: "v1.2.0"},
				Settings: vcs("vcs.revision", "0123456789abcdef0123", "vcs.time", "2027-01-02T03:04:05Z", "vcs.modified", "false"),
			},
			want: "moosectl v1.2.0 (commit 0123456789ab, 2027-01-02T03:04:05Z)",
		},
		{
			name: "short revision, no time",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: vcs("vcs.revision", "abc1234")},
			want: "moosectl v1.2.0 (commit abc1234)",
		},
		{
			name: "built without VCS stamping",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("-buildvcs", "false")},
			want: "moosectl (devel) (commit unknown)",
		},
		{
			name: "no main module version",
			bi:   &debug.BuildInfo{},
			want: "moosectl (devel) (commit unknown)",
		},
		{
			name: "no build information",
			bi:   nil,
			want: "moosectl (devel) (commit unknown)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, version.Format("moosectl", tt.bi))
		})
	}
}

// TestBinariesNameTheirCommit builds the real moosed and moosectl from this
// checkout and checks that --version names the commit at HEAD: the flag is
// wired in both mains and reads what the toolchain stamped.
func TestBinariesNameTheirCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds moosed and moosectl")
	}
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	root := strings.TrimSpace(string(top))
	// The go command stamps VCS information only where .git is a directory,
	// not in a linked worktree (where .git is a file).
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		t.Skipf("%s is a linked git worktree: go build does not stamp the commit there", root)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	require.NoError(t, err)
	commit := strings.TrimSpace(string(head))[:12]

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	// -buildvcs=true on the command line wins over a GOFLAGS that turns
	// stamping off.
	build := exec.CommandContext(ctx, goBin, "build", "-buildvcs=true", "-o", dir+string(filepath.Separator),
		"github.com/moosehq/moose/server/cmd/moosed", "github.com/moosehq/moose/clients/cmd/moosectl")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	for _, program := range []string{"moosed", "moosectl"} {
		t.Run(program, func(t *testing.T) {
			out, err := exec.CommandContext(ctx, filepath.Join(dir, program), "--version").CombinedOutput()
			require.NoError(t, err, "%s --version: %s", program, out)
			line := strings.TrimSpace(string(out))
			require.NotContains(t, line, "\n", "one line")
			require.True(t, strings.HasPrefix(line, program+" "), line)
			require.Contains(t, line, "(commit "+commit, "names HEAD's commit")
			require.NotContains(t, line, "(devel)", "a build in a checkout has a (pseudo-)version")
		})
	}
}
