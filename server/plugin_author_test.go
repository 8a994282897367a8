package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/servertest"
)

// The tests in this file follow the plugin author's path through the README:
// build a plugin into the server's plugin directory, register it with the
// real moosectl run from the repository root, rebuild it, reload it, and read
// its logs in moosed's.

// repoRoot is where a plugin author runs moosectl from in the README.
const repoRoot = ".."

// buildInto builds a main package into path, as a plugin author's go build
// does, with optional -ldflags.
func buildInto(t *testing.T, path, pkg string, ldflags string) {
	t.Helper()
	args := []string{"build", "-o", path}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	require.NoError(t, err, string(out))
}

// authorCtl runs the real moosectl against srv from the repository root and
// returns its combined output and exit status.
func authorCtl(t *testing.T, srv *servertest.Server) func(args ...string) (string, int) {
	bin := moosectl(t)
	return func(args ...string) (string, int) {
		t.Helper()
		var out bytes.Buffer
		cmd := exec.Command(bin, append([]string{"--server", srv.GRPCAddr()}, args...)...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "MOOSE_TOKEN="+srv.AdminToken())
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return out.String(), exit.ExitCode()
		}
		require.NoError(t, err)
		return out.String(), 0
	}
}

// realDir is dir with its symlinks resolved, as the server reports paths.
func realDir(t *testing.T, dir string) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	return d
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// field returns the value of one "Key:   value" line of moosectl's output.
func field(t *testing.T, out, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:\s+(.*)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q in:\n%s", key, out)
	return strings.TrimSpace(m[1])
}

// TestRegisterResolvesCommandInThePluginDir: `moosectl plugin register ...
// --command shouter` run from the repository root, where no file named
// shouter exists, registers the binary of that name in the server's plugin
// directory: the server resolves the command, pins its sha256 and returns
// both, and moosectl shows them. A client-supplied sha256 that is not the
// binary's fails with FailedPrecondition naming both hashes.
func TestRegisterResolvesCommandInThePluginDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "shouter")
	buildInto(t, bin, "../examples/plugins/shouter", "")
	sum := fileSum(t, bin)
	require.NoFileExists(t, filepath.Join(repoRoot, "shouter"), "the command must not name a file where moosectl runs")
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) { c.PluginDir = pluginDir }))
	ctl := authorCtl(t, srv)

	wrong := strings.Repeat("0", 64)
	out, code := ctl("plugin", "register", "proposer", "shouter", "0.1.0", "--command", "shouter", "--sha256", wrong)
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "(FailedPrecondition)")
	require.Contains(t, out, sum, "the message names the binary's sha256")
	require.Contains(t, out, wrong, "and the one the request gave")
	out, code = ctl("plugin", "list")
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "shouter", "nothing is registered")

	out, code = ctl("plugin", "register", "proposer", "shouter", "0.1.0", "--command", "shouter")
	require.Equal(t, 0, code, out)
	path := filepath.Join(realDir(t, pluginDir), "shouter")
	require.Equal(t, "shouter", field(t, out, "Command"))
	require.Equal(t, path, field(t, out, "Path"), "the binary the server resolved")
	require.Equal(t, sum, field(t, out, "SHA256"), "the hash the server pinned")
	require.Equal(t, "ready", field(t, out, "State"))
	require.Contains(t, out, "Pinned sha256 "+sum+" of "+path)

	// The same registration with the right sha256 is the same plugin.
	out, code = ctl("plugin", "register", "proposer", "shouter", "0.1.0", "--command", "shouter", "--sha256", strings.ToUpper(sum))
	require.Equal(t, 0, code, out)
	require.Equal(t, sum, field(t, out, "SHA256"))
}

// TestPluginStartFailuresSayWhy: a binary that cannot be started as
// registered (its sha256 changed, it is missing or not executable, it fails
// go-plugin's handshake) fails registration and reload with FailedPrecondition
// and the real reason; malformed input is InvalidArgument. Never "internal error".
func TestPluginStartFailuresSayWhy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "shouter")
	buildInto(t, bin, "../examples/plugins/shouter", "")
	// A program that is not a plugin: it writes to stdout, which carries the handshake.
	require.NoError(t, os.WriteFile(filepath.Join(pluginDir, "chatty"), []byte("#!/bin/sh\necho hello from chatty\n"), 0o755))
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(pluginDir, "noexec"), data, 0o644))
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) { c.PluginDir = pluginDir }))
	plugins := moosev1.NewPluginServiceClient(srv.Dial(t))
	ctx := context.Background()

	// Each request names the binary's real sha256, so only the failure under test remains.
	sums := map[string]string{"shouter": fileSum(t, bin), "chatty": fileSum(t, filepath.Join(pluginDir, "chatty")),
		"noexec": fileSum(t, filepath.Join(pluginDir, "noexec")), "absent": strings.Repeat("0", 64)}
	for _, tc := range []struct {
		name    string
		req     *moosev1.RegisterPluginRequest
		code    codes.Code
		message string
	}{
		{"handshake fails", &moosev1.RegisterPluginRequest{Command: "chatty"}, codes.FailedPrecondition,
			"Unrecognized remote plugin message: hello from chatty"},
		{"not executable", &moosev1.RegisterPluginRequest{Command: "noexec"}, codes.FailedPrecondition, "not an executable file"},
		{"missing", &moosev1.RegisterPluginRequest{Command: "absent"}, codes.FailedPrecondition, "no such file"},
		{"outside the plugin dir", &moosev1.RegisterPluginRequest{Command: "../shouter", Sha256: sums["shouter"]}, codes.InvalidArgument, "must not contain '..'"},
		{"malformed sha256", &moosev1.RegisterPluginRequest{Command: "shouter", Sha256: "abc"}, codes.InvalidArgument, "must be 64 hex digits"},
		{"another name", &moosev1.RegisterPluginRequest{Command: "shouter", Name: "whisperer"}, codes.InvalidArgument,
			`binary reports name "shouter", registration says "whisperer"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Kind, req.Version = "proposer", "0.1.0"
			if req.Name == "" {
				req.Name = "shouter"
			}
			if req.Sha256 == "" {
				req.Sha256 = sums[req.Command]
			}
			_, err := plugins.RegisterPlugin(ctx, req)
			require.Equal(t, tc.code, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tc.message)
		})
	}

	_, err = plugins.RegisterPlugin(ctx, &moosev1.RegisterPluginRequest{Kind: "proposer", Name: "shouter", Version: "0.1.0",
		Command: "shouter", Sha256: sums["shouter"]})
	require.NoError(t, err)
	reload := func() error {
		_, err := plugins.ReloadPlugin(ctx, &moosev1.ReloadPluginRequest{Kind: "proposer", Name: "shouter", Version: "0.1.0"})
		return err
	}
	require.NoError(t, os.Chmod(bin, 0o644))
	err = reload()
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "permission denied")
	require.NoError(t, os.Remove(bin))
	err = reload()
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "no such file")
}

// TestRebuildAndReload is the documented flow for a plugin author who
// rebuilds a registered binary: a plain reload refuses the new build with
// FailedPrecondition saying why and what to do, and the old process keeps
// serving; `moosectl plugin reload ... --rehash` pins the new build, which is
// the one that then runs and answers, and the new pin survives a restart.
func TestRebuildAndReload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	t.Parallel()
	pluginDir := t.TempDir()
	bin := filepath.Join(pluginDir, "testplugin")
	const pkg = "../plugins/internal/testplugin"
	buildInto(t, bin, pkg, "-X main.build=one")
	oldSum := fileSum(t, bin)
	dsn := dbtest.DSN(t)
	withDir := servertest.WithConfig(func(c *server.Config) { c.PluginDir = pluginDir })
	srv := servertest.Start(t, servertest.WithDatabaseURL(dsn), withDir)
	ctl := authorCtl(t, srv)

	out, code := ctl("plugin", "register", "proposer", "testplugin", "1.0.0", "--command", "testplugin")
	require.Equal(t, 0, code, out)
	require.Equal(t, "test plugin, build one", field(t, out, "Description"))
	oldPID := field(t, out, "PID")
	out, code = ctl("variant", "create", "tp", "--plugin", "testplugin", "--model", "none")
	require.Equal(t, 0, code, out)
	wo := filepath.Join(t.TempDir(), "wo.yaml")
	require.NoError(t, os.WriteFile(wo, []byte("title: echo\ncomplexity: 1\n"), 0o644))
	// testplugin answers "title|size|pid": the pid says which process answered.
	answeredBy := func() string {
		t.Helper()
		out, code := ctl("variant", "try", "tp", "-f", wo)
		require.Equal(t, 0, code, out)
		m := regexp.MustCompile(`echo\|\d+\|(\d+)`).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		return m[1]
	}
	require.Equal(t, oldPID, answeredBy())

	buildInto(t, bin, pkg, "-X main.build=two")
	newSum := fileSum(t, bin)
	require.NotEqual(t, oldSum, newSum)

	out, code = ctl("plugin", "reload", "proposer", "testplugin", "1.0.0")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "(FailedPrecondition)")
	require.Contains(t, out, "has sha256 "+newSum+", registered "+oldSum)
	require.Contains(t, out, "--rehash", "the message says how to pin the new build")
	out, code = ctl("plugin", "get", "proposer", "testplugin", "1.0.0")
	require.Equal(t, 0, code, out)
	require.Equal(t, "ready", field(t, out, "State"), "the refused reload leaves the old process serving")
	require.Equal(t, oldPID, field(t, out, "PID"))
	require.Equal(t, oldPID, answeredBy())

	out, code = ctl("plugin", "reload", "proposer", "testplugin", "1.0.0", "--rehash")
	require.Equal(t, 0, code, out)
	require.Equal(t, newSum, field(t, out, "SHA256"))
	require.Equal(t, "test plugin, build two", field(t, out, "Description"), "the new build reports itself")
	newPID := field(t, out, "PID")
	require.NotEqual(t, oldPID, newPID)
	require.Contains(t, out, "Pinned sha256 "+newSum+" of "+filepath.Join(realDir(t, pluginDir), "testplugin"))
	require.Equal(t, newPID, answeredBy(), "the new build answers")

	// The new pin is the catalog's: a restarted server starts the new build.
	srv.Stop()
	srv = servertest.Start(t, servertest.WithDatabaseURL(dsn), withDir)
	ctl = authorCtl(t, srv)
	ready := regexp.MustCompile(`(?m)^State:\s+ready$`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, code = ctl("plugin", "get", "proposer", "testplugin", "1.0.0")
		if code == 0 && ready.MatchString(out) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, "ready", field(t, out, "State"), out)
	require.Equal(t, newSum, field(t, out, "SHA256"))
	require.Equal(t, "test plugin, build two", field(t, out, "Description"))
}
