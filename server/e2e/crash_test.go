package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// slowChange adds package pkg whose test sleeps long enough for moosed to be
// killed while validating it.
func slowChange(pkg string) string { return slowChangeFor(pkg, 3500) }

// slowChangeFor is slowChange with a test that sleeps ms milliseconds.
func slowChangeFor(pkg string, ms int) string {
	return wholeFiles(
		[2]string{pkg + "/double.go", fmt.Sprintf(`package %s

// Double returns twice n.
func Double(n int) int { return 2 * n }
`, pkg)},
		[2]string{pkg + "/double_test.go", fmt.Sprintf(`package %s

import (
	"testing"
	"time"
)

func TestDouble(t *testing.T) {
	time.Sleep(%d * time.Millisecond) // keeps validation busy while the server is killed
	for n, want := range map[int]int{0: 0, 2: 4, -3: -6} {
		if got := Double(n); got != want {
			t.Errorf("Double(%%d) = %%d, want %%d", n, got, want)
		}
	}
}
`, pkg, ms)},
	)
}

// TestRecoveryAfterKill9 kills moosed with SIGKILL while work orders are
// being validated and checks that after a restart every work order finishes
// exactly once: no work order stuck, no cycle stored twice, one branch each,
// one "published" event each, and no plugin process of the dead server left.
func TestRecoveryAfterKill9(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const workOrders = 4

	repo := sampleRepo(t)
	remote := filepath.Join(traversableDir(t, "moose-e2e-remote-"), "published.git")
	bareClone(t, repo, remote)
	// Test strength is not under test: mutants would rerun the slow test.
	n := newNode(t, withArgs("--publish-remote", remote, "--max-mutants", "-1"))
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	c := cassette{Model: "replay-e2e"}
	for i := 1; i <= workOrders; i++ {
		c.Entries = append(c.Entries, entry{Key: fmt.Sprintf("E2E crash %d", i), InputTokens: 500, OutputTokens: 100,
			Text: slowChange(fmt.Sprintf("e2ecrash%d", i))})
	}
	project := n.setup(ctx, repo, c)
	var ids []string
	for i := 1; i <= workOrders; i++ {
		ids = append(ids, n.submit(ctx, project, fmt.Sprintf("E2E crash %d", i)))
	}

	// Kill while a work order is being validated, ideally while a slow test
	// runs in its sandbox.
	waitFor(t, 5*time.Minute, "a work order to start validating", func() bool {
		for _, id := range ids {
			if hasPhase(n.events(ctx, id), "validating") {
				return true
			}
		}
		return false
	})
	oldPID := n.pid()
	var tree []process
	sawTest := false
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		tree = pluginTree(processes(), oldPID)
		for _, p := range tree {
			if strings.Contains(p.cmdline, "e2ecrash") && strings.Contains(p.cmdline, ".test") {
				sawTest = true
			}
		}
		if sawTest {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("killing moosed %d (sandboxed test running: %v) with %d plugin processes", oldPID, sawTest, len(tree))
	n.kill()
	require.NotEmpty(t, tree, "the dead server had plugin processes")

	var inProgress int
	n.db(func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM work_orders WHERE id = ANY($1::uuid[]) AND status = 'in_progress'`, ids).Scan(&inProgress)
	})
	require.Positive(t, inProgress, "the kill must interrupt at least one work order in progress")
	t.Logf("%d of %d work orders were in progress at the kill", inProgress, workOrders)

	n.start()
	// The new host reaps what the old one left; Pdeathsig should have taken
	// most already. Give the kernel a moment to deliver the signals.
	waitFor(t, 15*time.Second, "the dead server's plugin processes to be gone", func() bool {
		return len(stillRunning(tree)) == 0 && len(pluginTree(processes(), oldPID)) == 0
	})

	finished := map[string]*moosev1.WorkOrder{}
	waitFor(t, 2*time.Minute, "every work order to finish after the restart", func() bool {
		for _, id := range ids {
			if finished[id] != nil {
				continue
			}
			if wo := n.get(ctx, id); terminal(wo.GetStatus()) {
				finished[id] = wo
			}
		}
		return len(finished) == len(ids)
	})

	wantBranches := map[string]bool{}
	for _, id := range ids {
		wo := finished[id]
		require.Contains(t, []moosev1.WorkOrderStatus{moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW},
			wo.GetStatus(), "work order %s: %+v", id, wo.GetResult())
		branch := "moose/wo-" + id[:8]
		require.Equal(t, branch, wo.GetResult().GetBranch())
		wantBranches[branch] = true
		require.Len(t, publishedEvents(n.events(ctx, id)), 1, "work order %s published once", id)

		var stored int
		n.db(func(ctx context.Context, conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE work_order_id = $1 AND NOT shadow
				AND execution = (SELECT executions FROM work_orders WHERE id = $1)`, id).Scan(&stored)
		})
		require.Equal(t, int(wo.GetResult().GetCycles()), stored, "work order %s: one stored attempt per cycle", id)
		var executions int
		n.db(func(ctx context.Context, conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT executions FROM work_orders WHERE id = $1`, id).Scan(&executions)
		})
		require.Equal(t, 1, executions, "work order %s: the interrupted execution resumed, no new one", id)
	}
	var dups int
	n.db(func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM attempts WHERE work_order_id = ANY($1::uuid[])
			GROUP BY work_order_id, execution, shadow, cycle HAVING count(*) > 1) d`, ids).Scan(&dups)
	})
	require.Zero(t, dups, "no (execution, cycle) stored twice")

	refs := gitRun(t, remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/moose/")
	got := map[string]bool{}
	for _, r := range strings.Fields(refs) {
		got[r] = true
	}
	require.Equal(t, wantBranches, got, "exactly one branch per work order on the publish remote")
	for i, id := range ids {
		gitRun(t, remote, "cat-file", "-e", fmt.Sprintf("moose/wo-%s:e2ecrash%d/double_test.go", id[:8], i+1))
	}
}
