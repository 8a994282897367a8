package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// replayBuild holds the replay proposer, built once per test binary on first
// use, in two plugin directories: builtinDir names it moose-plugin-replay and
// lists it in the manifest so the server registers it at start; plainDir names it replay-proposer so
// nothing is registered until a test does it by CLI.
var replayBuild struct {
	once                 sync.Once
	root                 string
	builtinDir, plainDir string
	sha256               string
	err                  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if replayBuild.root != "" {
		_ = os.RemoveAll(replayBuild.root)
	}
	os.Exit(code)
}

func buildReplay(t *testing.T) {
	t.Helper()
	b := &replayBuild
	b.once.Do(func() {
		if b.root, b.err = os.MkdirTemp("", "moosectl-plugins-"); b.err != nil {
			return
		}
		b.builtinDir, b.plainDir = filepath.Join(b.root, "builtin"), filepath.Join(b.root, "plain")
		for _, d := range []string{b.builtinDir, b.plainDir} {
			if b.err = os.Mkdir(d, 0o755); b.err != nil {
				return
			}
		}
		bin := filepath.Join(b.builtinDir, "moose-plugin-replay")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/moosehq/moose/plugins/replay").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("build replay: %w: %s", err, out)
			return
		}
		if b.err = servertest.WritePluginManifest(b.builtinDir, "moose-plugin-replay"); b.err != nil {
			return
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			b.err = err
			return
		}
		sum := sha256.Sum256(data)
		b.sha256 = hex.EncodeToString(sum[:])
		b.err = os.WriteFile(filepath.Join(b.plainDir, "replay-proposer"), data, 0o755)
	})
	require.NoError(t, b.err)
}

// realPath is path with its symlinks resolved, as the server reports it.
func realPath(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	require.NoError(t, err)
	return p
}

// pluginSession is a session whose server loads plugins from dir.
func pluginSession(t *testing.T, dir string) *session {
	t.Helper()
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PluginDir = dir }))
	return sessionFor(t, srv)
}

// builtinReplaySession is a server with the replay proposer registered as a
// built-in (proposer replay 1.0.0).
func builtinReplaySession(t *testing.T) (*session, *servertest.Server) {
	t.Helper()
	buildReplay(t)
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) { c.PluginDir = replayBuild.builtinDir }))
	return sessionFor(t, srv), srv
}

func TestPluginRegisterUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"nothing", []string{"plugin", "register"}, "missing --kind, --name, --version, --command"},
		{"no command", []string{"plugin", "register", "proposer", "x", "1.0.0"}, "missing --command"},
		{"flag and argument", []string{"plugin", "register", "proposer", "x", "1.0.0", "--kind", "validator", "--command", "c"},
			"--kind and the KIND NAME VERSION arguments exclude each other"},
		{"two arguments", []string{"plugin", "register", "proposer", "x"}, "as flags or as 3 arguments, got 2"},
		{"sha256 without rehash", []string{"plugin", "reload", "proposer", "x", "1.0.0", "--sha256", strings.Repeat("0", 64)},
			"--sha256 needs --rehash"},
		{"get without name", []string{"plugin", "get", "proposer"}, "needs 2 or 3 arguments"},
		{"reload without version", []string{"plugin", "reload", "proposer", "x"}, "needs 3 argument(s) (KIND NAME VERSION)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := moosectl(t, nil, append([]string{"--server", "127.0.0.1:1"}, tt.args...)...)
			require.Equal(t, cli.ExitUsage, r.code, r.stderr)
			require.Contains(t, r.stderr, tt.stderr)
		})
	}
}

func TestPluginCommands(t *testing.T) {
	t.Parallel()
	buildReplay(t)
	s := pluginSession(t, replayBuild.plainDir)
	bin := filepath.Join(replayBuild.plainDir, "replay-proposer")

	out := s.ok("plugin", "list")
	require.Equal(t, []string{"KIND", "NAME", "VERSION", "STATE", "PID", "RESTARTS", "SOURCE", "SHA256"}, strings.Fields(out),
		"nothing is registered from a directory without moose-plugin-* binaries")

	// A wrong sha256 is refused, naming both hashes, and nothing is registered.
	r := s.run("plugin", "register", "--kind", "proposer", "--name", "replay", "--version", "1.0.0",
		"--command", "replay-proposer", "--sha256", strings.Repeat("0", 64))
	require.Equal(t, cli.ExitError, r.code, r.stderr)
	require.Contains(t, r.stderr, "register plugin ")
	require.Contains(t, r.stderr, "(FailedPrecondition)")
	require.Regexp(t, `has sha256 `+replayBuild.sha256+`, the request says 0{64}`, r.stderr)
	require.Empty(t, r.stdout)
	require.Len(t, strings.Split(strings.TrimSpace(s.ok("plugin", "list")), "\n"), 1)

	// A binary that reports another name is refused too.
	r = s.run("plugin", "register", "proposer", "echo", "1.0.0", "--command", "replay-proposer", "--sha256", replayBuild.sha256)
	require.Equal(t, cli.ExitError, r.code, r.stderr)
	require.Contains(t, r.stderr, `name: binary reports name "replay", registration says "echo"`)

	// Without --sha256 the server pins the binary it resolved, and moosectl says which.
	r = s.run("plugin", "register", "--kind", "proposer", "--name", "replay", "--version", "1.0.0", "--command", bin)
	require.Equal(t, cli.ExitOK, r.code, r.stderr)
	require.Equal(t, "Pinned sha256 "+replayBuild.sha256+" of "+realPath(t, bin)+" on the server.\n", r.stderr)
	require.Regexp(t, `(?m)^Path:\s+`+regexp.QuoteMeta(realPath(t, bin))+`$`, r.stdout)
	require.Regexp(t, `(?m)^Name:\s+replay$`, r.stdout)
	require.Regexp(t, `(?m)^Source:\s+registered$`, r.stdout)
	require.Regexp(t, `(?m)^SHA256:\s+`+replayBuild.sha256+`$`, r.stdout)
	require.Regexp(t, `(?m)^Edit formats:\s+whole, diff, search_replace$`, r.stdout)

	// Repeating the identical registration (arguments instead of flags)
	// returns the same plugin.
	var again moosev1.Plugin
	s.json(&again, "plugin", "register", "proposer", "replay", "1.0.0", "--command", bin, "--sha256", strings.ToUpper(replayBuild.sha256))
	require.Equal(t, "ready", again.GetState())
	require.NotZero(t, again.GetPid())

	out = s.ok("plugin", "list")
	require.Regexp(t, `(?m)^proposer\s+replay\s+1\.0\.0\s+ready\s+\d+\s+0\s+registered\s+`+replayBuild.sha256[:12]+`$`, out)
	out = s.ok("plugin", "list", "--kind", "validator")
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 1, "header only:\n%s", out)
	r = s.run("plugin", "list", "--kind", "frobnicator")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "kind: must be proposer")

	// get with and without the version.
	var got moosev1.Plugin
	s.json(&got, "plugin", "get", "proposer", "replay", "1.0.0")
	require.Equal(t, again.GetPid(), got.GetPid())
	out = s.ok("plugin", "get", "proposer", "replay")
	require.Regexp(t, `(?m)^Version:\s+1\.0\.0$`, out)
	r = s.run("plugin", "get", "proposer", "nope")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, `no proposer plugin named "nope" is registered`)

	// reload replaces the process.
	var reloaded moosev1.Plugin
	s.json(&reloaded, "plugin", "reload", "proposer", "replay", "1.0.0")
	require.Equal(t, "ready", reloaded.GetState())
	require.NotEqual(t, got.GetPid(), reloaded.GetPid(), "a fresh process")

	out = s.ok("plugin", "unregister", "proposer", "replay", "1.0.0")
	require.Equal(t, "Unregistered proposer plugin replay 1.0.0.\n", out)
	r = s.run("plugin", "get", "proposer", "replay", "1.0.0")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(NotFound)")
	r = s.run("plugin", "unregister", "proposer", "replay", "1.0.0")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(NotFound)")
}
