package node_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/node"
)

const lease, beat = 900 * time.Millisecond, 100 * time.Millisecond

func TestLeaseLifecycle(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := t.Context()
	cfg := func(id string) node.Config { return node.Config{ID: id, Lease: lease, Heartbeat: beat} }

	a, err := node.Join(ctx, pool, cfg("a"))
	require.NoError(t, err)
	require.NoError(t, a.Valid())
	require.False(t, a.Settled(), "a node is not settled before a whole lease of renewals")
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	go a.Run(actx)

	b, err := node.Join(ctx, pool, cfg("b"))
	require.NoError(t, err) // b never heartbeats: it is "frozen"

	require.Eventually(t, a.Settled, 3*lease, 20*time.Millisecond, "a settles after a lease of renewals")
	require.NoError(t, a.Valid(), "a renewing node keeps its lease")
	require.ErrorIs(t, b.Valid(), node.ErrLeaseExpired, "b stopped renewing: its local lease lapses before anyone may reap it")

	// a reaps b, once b's lease has passed by the database's clock (a
	// heartbeat after b stopped recording).
	var dead []node.Dead
	require.Eventually(t, func() bool {
		require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var err error
			if dead, err = node.ExpiredTx(ctx, tx, a.ID()); err != nil {
				return err
			}
			for _, d := range dead {
				if err := node.RemoveTx(ctx, tx, d); err != nil {
					return err
				}
			}
			return nil
		}))
		return len(dead) > 0
	}, 3*lease, 20*time.Millisecond, "b's lease passes")
	require.Len(t, dead, 1)
	require.Equal(t, "b", dead[0].ID)

	// b resumes: its next write and its heartbeat both learn it lost.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return b.CheckTx(ctx, tx) })
	require.ErrorIs(t, err, node.ErrLeaseExpired)
	bctx, bcancel := context.WithCancel(ctx)
	defer bcancel()
	go b.Run(bctx)
	select {
	case <-b.Lost():
	case <-time.After(2 * lease):
		t.Fatal("a taken-over node never learned it lost its lease")
	}
	require.NotEmpty(t, b.LostReason())

	// a's writes still pass; a new incarnation of a takes the old one over.
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return a.CheckTx(ctx, tx) }))
	a2, err := node.Join(ctx, pool, cfg("a"))
	require.NoError(t, err)
	require.Greater(t, a2.Epoch(), a.Epoch())
	select {
	case <-a.Lost():
	case <-time.After(2 * lease):
		t.Fatal("the old incarnation kept renewing after a restart of the same node")
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return a.CheckTx(ctx, tx) })
	require.True(t, errors.Is(err, node.ErrLeaseExpired), "%v", err)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return a2.CheckTx(ctx, tx) }))

	// A live node is never expired, and a clean leave removes the row.
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		d, err := node.ExpiredTx(ctx, tx, "someone-else")
		require.Empty(t, d)
		return err
	}))
	require.NoError(t, a2.Leave(ctx))
	var rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM nodes`).Scan(&rows))
	require.Zero(t, rows)
}

func TestJoinRefusesBadConfig(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	_, err := node.Join(t.Context(), pool, node.Config{})
	require.Error(t, err)
	_, err = node.Join(t.Context(), pool, node.Config{ID: "x", Lease: time.Second, Heartbeat: 600 * time.Millisecond})
	require.ErrorContains(t, err, "half the lease")
}
