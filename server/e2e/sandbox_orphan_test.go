package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// sandboxToken is the project's test command: a sandboxed process easy to
// find in /proc, and one no Go build precedes.
const sandboxToken = "sleep 3141"

// orphanIterations is how many kill -9 / restart rounds
// TestNoSandboxSurvivesKill9 runs: 3 by default (make test), or
// $MOOSE_E2E_ORPHAN_ITERATIONS (make test-orphans runs 10).
func orphanIterations(t *testing.T) int {
	v := os.Getenv("MOOSE_E2E_ORPHAN_ITERATIONS")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "MOOSE_E2E_ORPHAN_ITERATIONS")
	require.Positive(t, n, "MOOSE_E2E_ORPHAN_ITERATIONS")
	return n
}

// TestNoSandboxSurvivesKill9 kills moosed with SIGKILL while validators run
// sandboxes, again and again, and checks after every restart that nothing of
// the killed instance survives: no plugin, no bwrap, no sandboxed process. It
// alternates between killing while a sandbox is still being set up (bwrap
// has started, the command not yet) and while the sandboxed command runs.
func TestNoSandboxSurvivesKill9(t *testing.T) {
	skipShort(t)
	t.Parallel()
	iterations := orphanIterations(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(iterations)*time.Minute+2*time.Minute)
	defer cancel()

	repo := filepath.Join(traversableDir(t, "moose-e2e-orphan-repo-"), "sleeper")
	require.NoError(t, os.MkdirAll(repo, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "README"), []byte("sleeps in its tests\n"), 0o644))
	gitRun(t, repo, "init", "-q", "-b", "main")
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "sleeper")

	c := cassette{Model: "replay-e2e"}
	for i := range iterations {
		c.Entries = append(c.Entries, entry{Key: fmt.Sprintf("Orphan %d", i), InputTokens: 10, OutputTokens: 10,
			Text: wholeFiles([2]string{"notes.txt", fmt.Sprintf("round %d\n", i)})})
	}
	cassettePath := filepath.Join(traversableDir(t, "moose-e2e-cassette-"), "cassette.json")
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cassettePath, raw, 0o644))

	n := newNode(t, withArgs("--max-refinements", "-1"))
	n.start()
	p, err := n.projects.CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "sleeper", RepoUrl: repo, DefaultBranch: "main",
		Language: "shell", BuildCommand: "true", TestCommand: sandboxToken})
	require.NoError(t, err)
	v, err := n.variants.CreateVariant(ctx, &moosev1.CreateVariantRequest{Name: "orphan-replay", PluginName: "replay", BaseUrl: cassettePath, EditFormat: "whole"})
	require.NoError(t, err)

	// Should an assertion fail, kill what the test saw, so no sandbox
	// outlives it on the machine.
	var seen []process
	t.Cleanup(func() {
		for _, p := range stillRunning(seen) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	})
	var ids []string
	for i := range iterations {
		r, err := n.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), VariantId: v.GetVariant().GetId(),
			Title: fmt.Sprintf("Orphan %d", i), Complexity: 1})
		require.NoError(t, err)
		_, err = n.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
		require.NoError(t, err)
		ids = append(ids, r.GetWorkOrder().GetId())

		// Kill during sandbox set-up on even rounds, while the command runs on odd ones.
		wantCommand := i%2 == 1
		pid := n.pid()
		var tree []process
		deadline := time.Now().Add(90 * time.Second)
		for {
			tree = pluginTree(processes(), pid)
			if sandboxSeen(tree, wantCommand) {
				break
			}
			require.True(t, time.Now().Before(deadline), "round %d: no sandbox (command running: %v) under moosed %d within 90s", i, wantCommand, pid)
			time.Sleep(5 * time.Millisecond)
		}
		seen = append(seen, tree...)
		n.kill()
		t.Logf("round %d: killed moosed %d with %d plugin and sandbox processes (command running: %v)", i, pid, len(tree), sandboxSeen(tree, true))

		n.start()
		// The new moosed has reaped what the old one left before serving; the
		// kernel may still be delivering the last signals.
		var left []process
		for wait := time.Now().Add(5 * time.Second); ; {
			left = append(stillRunning(tree), pluginTree(processes(), pid)...)
			left = append(left, strays(n.pid())...)
			if len(left) == 0 || time.Now().After(wait) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Empty(t, dedupe(left), "round %d: processes of the killed moosed %d survived its restart", i, pid)
	}

	// Leave nothing running for the cleanup's kill: cancel every work order
	// and wait for this moosed's sandboxes to end.
	for _, id := range ids {
		_, _ = n.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: id})
	}
	waitFor(t, 30*time.Second, "the cancelled work orders' sandboxes to end", func() bool {
		return !sandboxSeen(pluginTree(processes(), n.pid()), true)
	})
}

// sandboxSeen reports whether tree holds a bwrap process (any) or, with
// command set, the sandboxed test command itself (bwrap's own command line
// names it too, but the command's does not name bwrap).
func sandboxSeen(tree []process, command bool) bool {
	for _, p := range tree {
		isBwrap := strings.Contains(p.cmdline, "bwrap")
		if command && !isBwrap && strings.Contains(p.cmdline, sandboxToken) {
			return true
		}
		if !command && isBwrap {
			return true
		}
	}
	return false
}

// strays are sandboxed test commands (found by sandboxToken) that are not
// under the live moosed's plugins: left by a killed one. A process seen
// between its parent's and its own /proc entry may look like a stray for a
// moment, so a stray counts only if it still is one a little later.
func strays(live int) []process {
	find := func() map[int]process {
		ps := processes()
		ours := map[int]bool{}
		for _, p := range pluginTree(ps, live) {
			ours[p.pid] = true
		}
		out := map[int]process{}
		for _, p := range ps {
			if strings.Contains(p.cmdline, sandboxToken) && !strings.Contains(p.cmdline, "bwrap") && !ours[p.pid] && p.state != 'Z' {
				out[p.pid] = p
			}
		}
		return out
	}
	first := find()
	if len(first) == 0 {
		return nil
	}
	time.Sleep(200 * time.Millisecond)
	var out []process
	for pid, p := range find() {
		if q, ok := first[pid]; ok && q.start == p.start {
			out = append(out, p)
		}
	}
	return out
}
