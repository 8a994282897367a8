package workorder

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Hub turns PostgreSQL notifications into wake-ups for Watch streams. It holds
// one LISTEN connection per moosed process, whatever the number of watchers,
// and hears events written by any instance sharing the database.
type Hub struct {
	pool *pgxpool.Pool

	mu   sync.Mutex
	subs map[uuid.UUID]map[chan struct{}]struct{}
}

// NewHub returns a Hub; Run must be running for live updates (watchers still
// make progress without it, by polling).
func NewHub(pool *pgxpool.Pool) *Hub {
	return &Hub{pool: pool, subs: map[uuid.UUID]map[chan struct{}]struct{}{}}
}

// Run listens until ctx ends, reconnecting after connection loss. After a
// reconnect every watcher is woken, since notifications may have been missed.
func (h *Hub) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			break
		}
		_ = err // the pool logs connection failures; watchers fall back to polling meanwhile
		h.wakeAll()
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (h *Hub) listen(ctx context.Context) error {
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listen connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The connection is closed on return rather than put back in a LISTEN state.
	defer conn.Conn().Close(context.Background())
	h.wakeAll()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		id, err := uuid.Parse(n.Payload)
		if err != nil {
			continue
		}
		h.wake(id)
	}
}

// Subscribe returns a channel that receives a value whenever work order id may
// have new events, and a function to unsubscribe.
func (h *Hub) Subscribe(id uuid.UUID) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[id] == nil {
		h.subs[id] = map[chan struct{}]struct{}{}
	}
	h.subs[id][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[id], ch)
		if len(h.subs[id]) == 0 {
			delete(h.subs, id)
		}
		h.mu.Unlock()
	}
}

func (h *Hub) wake(id uuid.UUID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// watchPoll bounds how stale a watcher can be if a notification is lost.
const watchPoll = 2 * time.Second

// watchPage is how many events a watcher reads at once: a stream holds at
// most one page, however long the history.
const watchPage = 32

// Watch calls fn for each of the work order's events, history first, then live,
// and returns nil once the work order is in a terminal state and every event up
// to it was delivered. It returns fn's error, or ctx's when the caller goes away.
func (s *Service) Watch(ctx context.Context, hub *Hub, id uuid.UUID, fn func(Event) error) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	wake, unsubscribe := hub.Subscribe(id)
	defer unsubscribe()
	var last int64
	ticker := time.NewTicker(watchPoll)
	defer ticker.Stop()
	for {
		// Read the status before the events: if it is terminal, the events read
		// next include everything up to the terminal transition.
		w, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		for {
			evs, err := s.EventsPage(ctx, id, last, watchPage)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if err := fn(ev); err != nil {
					return err
				}
				last = ev.ID
			}
			if len(evs) < watchPage {
				break
			}
		}
		if w.Status.Terminal() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-ticker.C:
		}
	}
}
