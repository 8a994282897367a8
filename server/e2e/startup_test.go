package e2e_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/servertest"
)

// TestStartupErrorsAreOneClearLine runs the real moosed into each ordinary
// start-up failure: it must exit non-zero with one line on stderr naming the
// cause and the fix, never panic, and leave nothing running (no postgres, no
// postmaster.pid, no plugin processes).
func TestStartupErrorsAreOneClearLine(t *testing.T) {
	skipShort(t)
	t.Parallel()
	pluginDir := servertest.BuiltinPluginDir(t)
	root := os.Geteuid() == 0

	type tc struct {
		name    string
		dataDir func(t *testing.T) string
		args    func(t *testing.T) []string
		asUser  bool // run moosed as nobody
		rootNot bool // needs root
		want    func(dataDir string) []string
	}
	cases := []tc{
		{
			name:    "parent the postgres user cannot traverse",
			rootNot: true,
			dataDir: func(t *testing.T) string {
				dir, err := os.MkdirTemp("", "moose-e2e-private-") // 0700, root's
				require.NoError(t, err)
				t.Cleanup(func() { _ = os.RemoveAll(dir) })
				return filepath.Join(dir, "data")
			},
			want: func(dataDir string) []string {
				parent := filepath.Dir(dataDir)
				return []string{"user postgres cannot enter " + parent, "choose a data dir under /var/lib or run chmod o+x " + parent}
			},
		},
		{
			name: "data dir is a file",
			dataDir: func(t *testing.T) string {
				p := filepath.Join(traversableDir(t, "moose-e2e-file-"), "data")
				require.NoError(t, os.WriteFile(p, []byte("not a directory\n"), 0o644))
				return p
			},
			want: func(dataDir string) []string { return []string{"data dir " + dataDir + " is a file", "--data-dir"} },
		},
		{
			name:    "data dir not writable",
			rootNot: true,
			asUser:  true,
			dataDir: func(t *testing.T) string { return traversableDir(t, "moose-e2e-ro-") }, // 0755, root's
			want: func(dataDir string) []string {
				return []string{"data dir " + dataDir + " is not writable by uid 65534", "choose another --data-dir"}
			},
		},
		{
			name:    "grpc port in use",
			dataDir: func(t *testing.T) string { return traversableDir(t, "moose-e2e-data-") },
			args: func(t *testing.T) []string {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				t.Cleanup(func() { l.Close() })
				return []string{"--grpc-addr", l.Addr().String()}
			},
			want: func(string) []string { return []string{"address already in use", "choose another --grpc-addr"} },
		},
		{
			// Fails after the embedded cluster started: it must be stopped.
			name:    "plugin dir missing",
			dataDir: func(t *testing.T) string { return traversableDir(t, "moose-e2e-data-") },
			args:    func(t *testing.T) []string { return []string{"--plugin-dir", "/nonexistent/moose-plugins"} },
			want:    func(string) []string { return []string{"/nonexistent/moose-plugins"} },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.rootNot && !root {
				t.Skip("needs root")
			}
			dataDir := c.dataDir(t)
			args := []string{"--data-dir", dataDir, "--grpc-addr", freeAddr(t), "--http-addr", freeAddr(t), "--plugin-dir", pluginDir, "--log-level", "error"}
			if c.args != nil {
				args = append(args, c.args(t)...) // later flags win
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, moosedBin, args...)
			cmd.Env = cleanEnv()
			cmd.Dir = "/"
			if c.asUser {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
			}
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			err := cmd.Run()
			out := stderr.String()
			require.Error(t, err, "moosed started: %s", out)
			var exitErr *exec.ExitError
			require.ErrorAs(t, err, &exitErr)
			require.NotEqual(t, 0, exitErr.ExitCode())
			require.NoError(t, ctx.Err(), "moosed hung")
			require.NotContains(t, out, "panic", out)
			require.NotContains(t, out, "goroutine ", out)

			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasPrefix(l, "moosed: ") {
					lines = append(lines, l)
				}
			}
			require.Len(t, lines, 1, "one error line: %s", out)
			for _, w := range c.want(dataDir) {
				require.Contains(t, lines[0], w)
			}
			t.Logf("%s", lines[0])

			// Nothing left behind: no server on the data directory, no pid file,
			// no plugin process of this moosed.
			pg := filepath.Join(dataDir, "pg")
			require.NoFileExists(t, filepath.Join(pg, "postmaster.pid"))
			for _, p := range processes() {
				if !p.running() {
					continue
				}
				cwd, _ := os.Readlink("/proc/" + itoa(p.pid) + "/cwd")
				require.False(t, cwd == pg || strings.HasPrefix(cwd, dataDir+"/"), "left running: %v (cwd %s)", p, cwd)
			}
			require.Empty(t, stillRunning(pluginTree(processes(), cmd.Process.Pid)), "plugin processes left running")
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
