package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/dbtest"
)

// nodeID is the cluster id of a running node, from its /readyz.
func (n *node) nodeID(t *testing.T) string {
	t.Helper()
	_, body := readyz(n.httpAddr)
	id, _ := body["node"].(string)
	require.NotEmpty(t, id, "/readyz names the node: %v", body)
	return id
}

// runningOn returns the work orders among ids whose execution job runs on
// node id now.
func runningOn(n *node, ids []string, id string) []string {
	var on []string
	n.db(func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, `SELECT w.id::text FROM work_orders w JOIN river_job j ON j.id = w.job_id
			WHERE w.id = ANY($1::uuid[]) AND j.state = 'running' AND j.attempted_by[array_length(j.attempted_by, 1)] = $2`, ids, id)
		if err != nil {
			return err
		}
		on, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return on
}

// validatingOn returns the work orders among ids that node id runs now and
// that have reached validation (the slow test is running).
func validatingOn(ctx context.Context, n *node, ids []string, id string) []string {
	var out []string
	for _, wo := range runningOn(n, ids, id) {
		if hasPhase(n.events(ctx, wo), "validating") {
			out = append(out, wo)
		}
	}
	return out
}

// TestNodesTakeOverAndFence runs three moosed processes on one PostgreSQL.
// kill -9 of one node with work running: its work orders are taken over by
// the others within a minute and finish there, each published once, no cycle stored twice.
// SIGSTOP of another with work running: its lease lapses, the last node
// takes its work over and finishes it; after SIGCONT the frozen node exits
// without recording or publishing anything more.
func TestNodesTakeOverAndFence(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const workOrders, first = 6, 4
	const lease = 6 * time.Second

	repo := sampleRepo(t)
	remote := filepath.Join(traversableDir(t, "moose-e2e-remote-"), "published.git")
	bareClone(t, repo, remote)
	dsn := dbtest.DSN(t)
	// Info logs keep the failure tails readable; test strength is not under
	// test (its mutants would rerun the slow tests).
	args := withArgs("--publish-remote", remote, "--node-lease", lease.String(), "--concurrency", "4", "--max-mutants", "-1", "--log-level", "info")
	a := newNode(t, withDatabase(dsn), args)
	a.start()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	cas := cassette{Model: "replay-e2e"}
	for i := 1; i <= workOrders; i++ {
		cas.Entries = append(cas.Entries, entry{Key: fmt.Sprintf("E2E nodes %d", i), InputTokens: 500, OutputTokens: 100,
			Text: slowChangeFor(fmt.Sprintf("e2enodes%d", i), 8000)})
	}
	project := a.setup(ctx, repo, cas)
	var ids []string
	for i := 1; i <= first; i++ {
		ids = append(ids, a.submit(ctx, project, fmt.Sprintf("E2E nodes %d", i)))
	}
	// Node a alone takes the first work orders; b joins, then a is killed
	// while it validates.
	aID := a.nodeID(t)
	var onA []string
	waitFor(t, 3*time.Minute, "node a to validate a work order", func() bool {
		onA = validatingOn(ctx, a, ids, aID)
		return len(onA) > 0
	})
	b := newNode(t, withDatabase(dsn), args, withToken(a.token))
	b.start()
	bID := b.nodeID(t)
	a.kill()
	killedAt := time.Now()
	t.Logf("killed node a running %v", onA)
	// Taking the work over is the node lease's job and takes seconds; redoing
	// it is the pipeline's and takes as long as the machine's load makes it
	// (four slow test runs on two loaded cores), so the two are timed apart.
	takenOver := func(n *node, ids []string, dead string) bool {
		for _, id := range ids {
			var taken bool
			for _, ev := range n.events(ctx, id) {
				taken = taken || ev.GetData()["dead_node"] == dead
			}
			if !taken {
				return false
			}
		}
		return true
	}
	waitFor(t, time.Minute, "node a's work orders to be taken over by the other nodes", func() bool { return takenOver(b, onA, aID) })
	t.Logf("node a's work taken over %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	waitFor(t, 3*time.Minute, "node a's work orders to finish on the other nodes", func() bool {
		for _, id := range onA {
			if !terminal(b.get(ctx, id).GetStatus()) {
				return false
			}
		}
		return true
	})
	t.Logf("node a's work finished elsewhere %v after the kill", time.Since(killedAt).Round(time.Millisecond))

	// More work for b alone; b is frozen by SIGSTOP while it validates; node
	// c joins and takes b's work over.
	var more []string
	for i := first + 1; i <= workOrders; i++ {
		more = append(more, b.submit(ctx, project, fmt.Sprintf("E2E nodes %d", i)))
	}
	ids = append(ids, more...)
	var onB []string
	waitFor(t, 3*time.Minute, "node b to validate a work order", func() bool {
		onB = validatingOn(ctx, b, more, bID)
		return len(onB) > 0
	})
	require.NoError(t, syscall.Kill(b.pid(), syscall.SIGSTOP))
	t.Logf("froze node b validating %v", onB)
	c := newNode(t, withDatabase(dsn), args, withToken(a.token))
	c.start()
	cID := c.nodeID(t)
	require.Len(t, map[string]bool{aID: true, bID: true, cID: true}, 3, "three distinct nodes")
	waitFor(t, 2*time.Minute, "node b to be reaped and its work orders to finish on node c", func() bool {
		var rows int
		c.db(func(ctx context.Context, conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE id = $1`, bID).Scan(&rows)
		})
		if rows > 0 {
			return false
		}
		for _, id := range onB {
			if !terminal(c.get(ctx, id).GetStatus()) {
				return false
			}
		}
		return true
	})
	require.True(t, takenOver(c, onB, bID), "the work orders %v were taken over from the frozen node", onB)
	type record struct {
		attempts, events int
		branch           string
	}
	snapshot := func() map[string]record {
		out := map[string]record{}
		for _, id := range onB {
			var r record
			c.db(func(ctx context.Context, conn *pgx.Conn) error {
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE work_order_id = $1`, id).Scan(&r.attempts); err != nil {
					return err
				}
				return conn.QueryRow(ctx, `SELECT count(*) FROM work_order_events WHERE work_order_id = $1`, id).Scan(&r.events)
			})
			r.branch = strings.TrimSpace(gitRun(t, remote, "rev-parse", "--verify", "-q", "refs/heads/moose/wo-"+id[:8]))
			out[id] = r
		}
		return out
	}
	before := snapshot()
	require.NoError(t, syscall.Kill(b.pid(), syscall.SIGCONT))
	select {
	case <-b.done:
		require.Equal(t, 75, b.cmd.ProcessState.ExitCode(), "a node that lost its lease exits with 75")
	case <-time.After(30 * time.Second):
		t.Fatal("node b kept running after another node took its work over")
	}
	time.Sleep(time.Second) // anything b still had in flight would land now
	require.Equal(t, before, snapshot(), "the frozen node recorded or published nothing after the takeover")

	// Everything finishes, once.
	waitFor(t, 3*time.Minute, "every work order to finish", func() bool {
		for _, id := range ids {
			if !terminal(c.get(ctx, id).GetStatus()) {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		wo := c.get(ctx, id)
		require.Contains(t, []moosev1.WorkOrderStatus{moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW},
			wo.GetStatus(), "work order %s: %+v", id, wo.GetResult())
		require.Len(t, publishedEvents(c.events(ctx, id)), 1, "work order %s published once", id)
	}
	var dups int
	c.db(func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM attempts WHERE work_order_id = ANY($1::uuid[])
			GROUP BY work_order_id, execution, shadow, cycle HAVING count(*) > 1) d`, ids).Scan(&dups)
	})
	require.Zero(t, dups, "no (execution, cycle) stored twice")
}

// TestNodesDrainOnSIGTERM runs three moosed processes on one PostgreSQL and
// sends each in turn SIGTERM while it validates: the node stops taking work,
// finishes what it runs within the drain timeout and exits 0; nothing is
// cancelled, re-queued, resumed elsewhere, retried or failed, and every work
// order is published once with no cycle stored twice.
func TestNodesDrainOnSIGTERM(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const perRound = 6 // two for each node's --concurrency 2

	repo := sampleRepo(t)
	remote := filepath.Join(traversableDir(t, "moose-e2e-remote-"), "published.git")
	bareClone(t, repo, remote)
	dsn := dbtest.DSN(t)
	args := withArgs("--publish-remote", remote, "--concurrency", "2", "--drain-timeout", "3m", "--max-mutants", "-1", "--log-level", "info")
	a := newNode(t, withDatabase(dsn), args)
	a.start()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	cas := cassette{Model: "replay-e2e"}
	for i := 1; i <= 3*perRound; i++ {
		cas.Entries = append(cas.Entries, entry{Key: fmt.Sprintf("E2E drain %d", i), InputTokens: 500, OutputTokens: 100,
			Text: slowChangeFor(fmt.Sprintf("e2edrain%d", i), 3000)})
	}
	project := a.setup(ctx, repo, cas)
	b := newNode(t, withDatabase(dsn), args, withToken(a.token))
	b.start()
	c := newNode(t, withDatabase(dsn), args, withToken(a.token))
	c.start()
	nodes := []*node{a, b, c}

	var all []string
	for round, n := range nodes {
		other := nodes[(round+1)%len(nodes)]
		var ids []string
		for i := 1; i <= perRound; i++ {
			ids = append(ids, other.submit(ctx, project, fmt.Sprintf("E2E drain %d", round*perRound+i)))
		}
		all = append(all, ids...)
		nid := n.nodeID(t)
		var on []string
		waitFor(t, 3*time.Minute, fmt.Sprintf("node %d to validate a work order", round), func() bool {
			on = validatingOn(ctx, n, ids, nid)
			return len(on) > 0
		})
		began := time.Now()
		require.Equal(t, 0, n.term(4*time.Minute), "a drained node exits 0")
		t.Logf("node %d drained %v in %v", round, on, time.Since(began).Round(time.Millisecond))
		for _, id := range on {
			require.True(t, terminal(other.get(ctx, id).GetStatus()), "work order %s finished on the node that ran it before it exited", id)
		}
		n.start()
		waitFor(t, 3*time.Minute, fmt.Sprintf("round %d's work orders to finish", round), func() bool {
			for _, id := range ids {
				if !terminal(other.get(ctx, id).GetStatus()) {
					return false
				}
			}
			return true
		})
	}

	for _, id := range all {
		wo := a.get(ctx, id)
		require.Contains(t, []moosev1.WorkOrderStatus{moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW},
			wo.GetStatus(), "work order %s: %+v", id, wo.GetResult())
		evs := a.events(ctx, id)
		require.Len(t, publishedEvents(evs), 1, "work order %s published once", id)
		for _, ev := range evs {
			msg := ev.GetMessage()
			require.False(t, ev.GetPhase() == "resuming" || strings.Contains(msg, "re-queued") || strings.Contains(msg, "failed:") ||
				strings.HasPrefix(msg, "attempt ") || ev.GetData()["dead_node"] != "",
				"work order %s was interrupted: %q", id, msg)
		}
	}
	var dups, retried int
	a.db(func(ctx context.Context, conn *pgx.Conn) error {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM attempts WHERE work_order_id = ANY($1::uuid[])
			GROUP BY work_order_id, execution, shadow, cycle HAVING count(*) > 1) d`, all).Scan(&dups); err != nil {
			return err
		}
		return conn.QueryRow(ctx, `SELECT count(*) FROM work_orders w JOIN river_job j ON j.id = w.job_id
			WHERE w.id = ANY($1::uuid[]) AND (j.attempt > 1 OR j.state <> 'completed')`, all).Scan(&retried)
	})
	require.Zero(t, dups, "no (execution, cycle) stored twice")
	require.Zero(t, retried, "every execution ran once and completed")
}
