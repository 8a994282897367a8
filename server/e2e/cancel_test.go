package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

const cancelMarker = "moose-e2e-cancel-marker"

// endlessChange adds a package whose test runs for two minutes, touching a
// marker file in its package directory every 100ms: while the marker's
// modification time moves, the sandboxed test process is alive.
var endlessChange = wholeFiles(
	[2]string{"e2ecancel/wait.go", `package e2ecancel

// Wait returns d unchanged.
func Wait(d int) int { return d }
`},
	[2]string{"e2ecancel/wait_test.go", `package e2ecancel

import (
	"os"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		_ = os.WriteFile("` + cancelMarker + `", []byte(time.Now().String()), 0o644)
		time.Sleep(100 * time.Millisecond)
	}
	if Wait(1) != 1 {
		t.Fatal("Wait")
	}
}
`},
)

// TestCancelStopsSandboxWithin5s cancels a work order whose test runs for two
// minutes and checks that the sandboxed test process dies within 5 seconds
// and the job ends cancelled.
func TestCancelStopsSandboxWithin5s(t *testing.T) {
	skipShort(t)
	t.Parallel()

	repo := sampleRepo(t)
	n := newNode(t, withArgs("--publish-remote", filepath.Join(traversableDir(t, "moose-e2e-remote-"), "unused.git")))
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	project := n.setup(ctx, repo, cassette{Model: "replay-e2e", Entries: []entry{{Key: "E2E cancel", InputTokens: 300, OutputTokens: 80, Text: endlessChange}}})
	id := n.submit(ctx, project, "E2E cancel")

	var marker string
	waitFor(t, 6*time.Minute, "the sandboxed test to write its marker", func() bool {
		var err error
		marker, err = findFile(filepath.Join(n.dataDir, "workspaces"), cancelMarker)
		return err == nil
	})
	// Make sure the test is alive right now, not already finished.
	waitFor(t, 30*time.Second, "the marker to be fresh", func() bool {
		st, err := os.Stat(marker)
		return err == nil && time.Since(st.ModTime()) < time.Second
	})
	var tests []process
	for _, p := range descendants(processes(), n.pid()) {
		if strings.Contains(p.cmdline, "e2ecancel.test") {
			tests = append(tests, p)
		}
	}
	t.Logf("marker %s; sandboxed test processes: %v", marker, tests)
	require.NotEmpty(t, tests, "the sandboxed test process is a descendant of moosed")

	cancelledAt := time.Now()
	resp, err := n.wos.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: id, Reason: "e2e: cancel within 5s"})
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, resp.GetWorkOrder().GetStatus(), "cancelled at once")

	// Within 5s the test process is gone and the marker stops moving.
	for len(stillRunning(tests)) > 0 && time.Since(cancelledAt) < 5*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	require.Empty(t, stillRunning(tests), "the sandboxed test process survived the cancellation by 5s")
	t.Logf("sandboxed test gone %v after the cancellation", time.Since(cancelledAt).Round(10*time.Millisecond))
	// The marker's last write must come before cancel+5s, observed 2s later.
	for time.Since(cancelledAt) < 7*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	if st, err := os.Stat(marker); err == nil {
		require.Less(t, st.ModTime().Sub(cancelledAt), 5*time.Second,
			"the marker was still being written %v after the cancellation", st.ModTime().Sub(cancelledAt))
	}
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED, n.get(ctx, id).GetStatus())

	waitFor(t, time.Minute, "the execution's job to end cancelled", func() bool {
		var state string
		n.db(func(ctx context.Context, conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT j.state::text FROM river_job j JOIN work_orders w ON w.job_id = j.id WHERE w.id = $1`, id).Scan(&state)
		})
		return state == "cancelled"
	})
}
