// Package node is an executing moosed's membership of the cluster: a row in
// table nodes (this package is its only owner) that the node's heartbeat
// renews, and the lease that row grants.
//
// The lease is what lets other nodes take over a dead node's work without
// ever running one execution on two nodes at once:
//
//   - Each heartbeat sets lease_until = now() + Lease (the database's clock)
//     and succeeds only while the row still holds this incarnation's epoch.
//   - Locally, the lease holds until the start of the last successful renewal
//     plus Lease minus one heartbeat interval: a node stops recording work
//     (Valid fails) at least one interval before any other node may consider
//     it dead, whatever stopped its heartbeats (SIGSTOP, a hung disk, a
//     database outage).
//   - Writes that matter (a stored cycle, the final result) also check the
//     row inside their own transaction (CheckTx): a takeover deletes the row
//     under a row lock, so a write either commits before the takeover or sees
//     the row gone and aborts.
//   - A node whose row was taken over learns it at its next heartbeat (Lost
//     closes) and must stop at once: moosed exits and its supervisor restarts
//     it as a new incarnation.
//
// Another node judges leases only once its own renewals have been continuous
// for a whole lease (Settled): after a database outage every node's lease
// has lapsed, and each gets a full lease to renew before anyone reaps it.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLeaseExpired is returned by Valid and CheckTx when this node may no
// longer record work: its lease lapsed, or another node took it over.
var ErrLeaseExpired = errors.New("this node's lease has expired")

// Config configures a node's membership.
type Config struct {
	// ID names the node; stable across restarts of the same node.
	ID string
	// Lease is how long a renewal keeps the node alive (default 30s).
	Lease time.Duration
	// Heartbeat is the renewal interval (default Lease/6, at least 100ms).
	Heartbeat time.Duration
	Logger    *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = c.Lease / 6
	}
	c.Heartbeat = max(c.Heartbeat, 100*time.Millisecond)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Node is one incarnation of an executing node.
type Node struct {
	cfg   Config
	pool  *pgxpool.Pool
	epoch int64

	mu         sync.Mutex
	renewed    time.Time // local start of the last successful renewal
	validSince time.Time // first renewal after the last gap
	lost       chan struct{}
	lostOnce   sync.Once
	lostReason string
}

// Join registers a new incarnation of node cfg.ID (a higher epoch than any
// before it) with a fresh lease.
func Join(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Node, error) {
	cfg.setDefaults()
	if cfg.ID == "" {
		return nil, errors.New("node: empty id")
	}
	if cfg.Heartbeat*2 >= cfg.Lease {
		return nil, fmt.Errorf("node: heartbeat %s must be under half the lease %s", cfg.Heartbeat, cfg.Lease)
	}
	n := &Node{cfg: cfg, pool: pool, lost: make(chan struct{})}
	t0 := time.Now()
	err := pool.QueryRow(ctx, `INSERT INTO nodes (id, epoch, lease_until) VALUES ($1, 1, now() + $2::interval)
		ON CONFLICT (id) DO UPDATE SET epoch = nodes.epoch + 1, started_at = now(), heartbeat_at = now(), lease_until = EXCLUDED.lease_until
		RETURNING epoch`, cfg.ID, cfg.Lease.String()).Scan(&n.epoch)
	if err != nil {
		return nil, fmt.Errorf("join the cluster as node %s: %w", cfg.ID, err)
	}
	n.renewed, n.validSince = t0, t0
	return n, nil
}

// ID is the node's id; Epoch its incarnation.
func (n *Node) ID() string   { return n.cfg.ID }
func (n *Node) Epoch() int64 { return n.epoch }

// Lease is the configured lease.
func (n *Node) Lease() time.Duration { return n.cfg.Lease }

// Lost is closed when another node has taken this incarnation's work over;
// the node must stop at once.
func (n *Node) Lost() <-chan struct{} { return n.lost }

// LostReason says why Lost closed.
func (n *Node) LostReason() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lostReason
}

// Valid reports whether the local lease still holds.
func (n *Node) Valid() error {
	select {
	case <-n.lost:
		return ErrLeaseExpired
	default:
	}
	n.mu.Lock()
	renewed := n.renewed
	n.mu.Unlock()
	if time.Since(renewed) >= n.cfg.Lease-n.cfg.Heartbeat {
		return fmt.Errorf("%w: last renewed %s ago", ErrLeaseExpired, time.Since(renewed).Round(time.Millisecond))
	}
	return nil
}

// Settled reports whether the lease has been renewed without a gap for at
// least a whole lease, which a node needs before it may judge others dead.
func (n *Node) Settled() bool {
	if n.Valid() != nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return time.Since(n.validSince) >= n.cfg.Lease
}

// CheckTx fails unless this incarnation still holds its row and its lease in
// the database. It locks the row for share, so a takeover (which deletes it)
// waits for tx or tx sees it gone.
func (n *Node) CheckTx(ctx context.Context, tx pgx.Tx) error {
	if err := n.Valid(); err != nil {
		return err
	}
	var ok bool
	err := tx.QueryRow(ctx, `SELECT lease_until > now() FROM nodes WHERE id = $1 AND epoch = $2 FOR SHARE`, n.cfg.ID, n.epoch).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		n.markLost("the node's row was taken over")
		return fmt.Errorf("%w: taken over by another node", ErrLeaseExpired)
	}
	if err != nil {
		return fmt.Errorf("check lease: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: lease_until has passed", ErrLeaseExpired)
	}
	return nil
}

// Run renews the lease every heartbeat until ctx ends or the lease is lost.
func (n *Node) Run(ctx context.Context) {
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.lost:
			return
		case <-t.C:
		}
		if err := n.renew(ctx); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Warn("renew node lease", "node", n.cfg.ID, "err", err)
		}
	}
}

// renew extends the lease once.
func (n *Node) renew(ctx context.Context) error {
	t0 := time.Now()
	rctx, cancel := context.WithTimeout(ctx, n.cfg.Lease/3)
	defer cancel()
	tag, err := n.pool.Exec(rctx, `UPDATE nodes SET heartbeat_at = now(), lease_until = now() + $3::interval WHERE id = $1 AND epoch = $2`,
		n.cfg.ID, n.epoch, n.cfg.Lease.String())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		n.markLost("another node took this node's work over (its lease had expired)")
		return ErrLeaseExpired
	}
	n.mu.Lock()
	gap := time.Since(n.renewed)
	if gap >= n.cfg.Lease-n.cfg.Heartbeat {
		n.validSince = t0 // the lease had lapsed locally
	}
	n.renewed = t0
	n.mu.Unlock()
	if gap >= n.cfg.Lease-n.cfg.Heartbeat {
		n.cfg.Logger.Warn("node lease renewed after it had lapsed", "node", n.cfg.ID, "since_last_renewal", gap.Round(time.Millisecond))
	}
	return nil
}

func (n *Node) markLost(reason string) {
	n.lostOnce.Do(func() {
		n.mu.Lock()
		n.lostReason = reason
		n.mu.Unlock()
		close(n.lost)
	})
}

// Leave removes this incarnation's row after a clean shutdown, so nobody
// takes over work it no longer has.
func (n *Node) Leave(ctx context.Context) error {
	_, err := n.pool.Exec(ctx, `DELETE FROM nodes WHERE id = $1 AND epoch = $2`, n.cfg.ID, n.epoch)
	return err
}

// Dead is a node whose lease has passed.
type Dead struct {
	ID         string
	Epoch      int64
	LeaseUntil time.Time
}

// ExpiredTx locks and returns the nodes other than self whose lease has
// passed by the database's clock. RemoveTx in the same transaction ends them.
func ExpiredTx(ctx context.Context, tx pgx.Tx, self string) ([]Dead, error) {
	rows, err := tx.Query(ctx, `SELECT id, epoch, lease_until FROM nodes WHERE lease_until < now() AND id <> $1 FOR UPDATE SKIP LOCKED`, self)
	if err != nil {
		return nil, fmt.Errorf("find expired nodes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Dead, error) {
		var d Dead
		err := r.Scan(&d.ID, &d.Epoch, &d.LeaseUntil)
		return d, err
	})
}

// RemoveTx deletes dead node d's row: from then on its incarnation can
// neither renew nor pass CheckTx.
func RemoveTx(ctx context.Context, tx pgx.Tx, d Dead) error {
	_, err := tx.Exec(ctx, `DELETE FROM nodes WHERE id = $1 AND epoch = $2`, d.ID, d.Epoch)
	if err != nil {
		return fmt.Errorf("remove node %s: %w", d.ID, err)
	}
	return nil
}

// Live counts the nodes whose lease has not passed.
func Live(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var n int
	err := pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE lease_until > now()`).Scan(&n)
	return n, err
}
