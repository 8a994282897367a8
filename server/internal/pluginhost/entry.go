package pluginhost

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/moosehq/moose/server/internal/fault"
)

// entry is one catalog entry and its current process.
type entry struct {
	h       *Host
	reg     Registration
	path    string
	builtin bool
	created time.Time

	mu        sync.Mutex
	cur       *proc
	state     State
	lastErr   string
	restarts  int
	crashes   []time.Time
	removed   bool
	next      *entry        // set when a rehash replaced this entry
	restartAt bool          // a restart is scheduled or running
	changed   chan struct{} // closed and replaced whenever cur or state changes
}

func (h *Host) newEntry(reg Registration, path string, builtin bool, created time.Time) *entry {
	return &entry{h: h, reg: reg, path: path, builtin: builtin, created: created, state: StateStarting, changed: make(chan struct{})}
}

// notify wakes callers waiting for a process. Caller holds e.mu.
func (e *entry) notify() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// install makes p the current process and watches it for crashes.
func (e *entry) install(p *proc) {
	e.mu.Lock()
	e.cur = p
	e.state = StateReady
	e.notify()
	e.mu.Unlock()
	go e.watch(p)
}

// swap installs p and returns the previous process for draining. A reload also
// lifts a quarantine and forgets past crashes.
func (e *entry) swap(p *proc) *proc {
	e.mu.Lock()
	old := e.cur
	e.cur = p
	e.state = StateReady
	e.crashes = nil
	e.lastErr = ""
	e.notify()
	e.mu.Unlock()
	go e.watch(p)
	return old
}

// supersede hands e over to next (a rehash replaced it): callers that find e
// removed continue with next. It returns e's process for draining.
func (e *entry) supersede(next *entry) *proc {
	e.mu.Lock()
	e.next = next
	e.mu.Unlock()
	return e.detach(StateStopped)
}

// detach removes the entry's process for stopping and marks the entry final.
func (e *entry) detach(state State) *proc {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.cur
	e.cur = nil
	e.removed = true
	e.state = state
	e.notify()
	if p != nil {
		p.stopping.Store(true)
	}
	return p
}

func (e *entry) snapshot() Plugin {
	e.mu.Lock()
	defer e.mu.Unlock()
	pl := Plugin{
		Registration: e.reg,
		Builtin:      e.builtin,
		Path:         e.path,
		State:        e.state,
		Restarts:     e.restarts,
		LastError:    e.lastErr,
		CreatedAt:    e.created,
	}
	pl.Args = slices.Clone(e.reg.Args)
	pl.Env = slices.Clone(e.reg.Env)
	if e.cur != nil {
		pl.PID = e.cur.pid
		pl.Info = Info{
			Description:  e.cur.info.GetDescription(),
			EditFormats:  slices.Clone(e.cur.info.GetEditFormats()),
			Capabilities: slices.Clone(e.cur.info.GetCapabilities()),
			Params:       slices.Clone(e.cur.info.GetParams()),
		}
	}
	return pl
}

// acquire returns the current process with a call registered on it, waiting
// while the plugin restarts. The caller must call release.
func (e *entry) acquire(ctx context.Context) (*proc, error) {
	for {
		e.mu.Lock()
		switch {
		case e.removed && e.next != nil:
			next := e.next
			e.mu.Unlock()
			return next.acquire(ctx)
		case e.removed:
			e.mu.Unlock()
			return nil, fmt.Errorf("plugin %s was unregistered: %w", e.reg.ID(), fault.ErrNotFound)
		case e.state == StateQuarantined:
			msg := e.lastErr
			e.mu.Unlock()
			return nil, fmt.Errorf("plugin %s is quarantined after repeated crashes (last: %s); reload it: %w", e.reg.ID(), msg, fault.ErrUnavailable)
		case e.cur != nil && !e.cur.dead() && !e.cur.condemned.Load():
			p := e.cur
			p.inflight.Add(1)
			p.active.Add(1)
			e.mu.Unlock()
			return p, nil
		}
		ch := e.changed
		msg := e.lastErr
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("plugin %s is not running (last error: %s): %w", e.reg.ID(), msg, fault.ErrUnavailable)
		}
	}
}

func (p *proc) release() {
	p.active.Add(-1)
	p.inflight.Done()
}

// watch waits for p to exit. An exit the host did not ask for is a crash:
// it is recorded and a fresh process is started with backoff, or the plugin is
// quarantined when it keeps crashing.
func (e *entry) watch(p *proc) {
	<-p.exited()
	if p.stopping.Load() {
		return
	}
	code := -1
	if ps := p.runner.cmd.ProcessState; ps != nil {
		code = ps.ExitCode()
	}
	p.cleanup() // release go-plugin's connection and socket
	e.mu.Lock()
	if e.cur != p || e.removed {
		e.mu.Unlock()
		return
	}
	now := time.Now()
	e.cur = nil
	e.crashes = append(e.crashes, now)
	cut := now.Add(-e.h.cfg.QuarantineWindow)
	for len(e.crashes) > 0 && e.crashes[0].Before(cut) {
		e.crashes = e.crashes[1:]
	}
	e.lastErr = fmt.Sprintf("process %d exited unexpectedly (exit code %d)", p.pid, code)
	n := len(e.crashes)
	if n >= e.h.cfg.QuarantineAfter {
		e.state = StateQuarantined
		e.notify()
		e.mu.Unlock()
		e.h.log.Error("plugin quarantined after repeated crashes", "plugin", e.reg.ID(), "crashes", n, "window", e.h.cfg.QuarantineWindow)
		return
	}
	e.state = StateRestarting
	e.notify()
	// Scheduled under e.mu, before any Close can mark the entry removed, so the
	// host's WaitGroup is never added to while Close waits on it.
	e.scheduleRestart(n)
	e.mu.Unlock()
	e.h.log.Warn("plugin crashed, restarting", "plugin", e.reg.ID(), "pid", p.pid, "exit_code", code, "recent_crashes", n)
}

// scheduleRestart launches a fresh process after a backoff that doubles with
// every recent crash. A failed launch counts as a crash. Callers hold e.mu (or
// own e exclusively) and have seen it not removed.
func (e *entry) scheduleRestart(crashes int) {
	h := e.h
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		delay := time.Duration(0)
		if crashes > 1 {
			delay = h.cfg.RestartBackoff << min(crashes-2, 16)
			delay = min(delay, h.cfg.MaxRestartBackoff)
		}
		for {
			if delay > 0 {
				t := time.NewTimer(delay)
				select {
				case <-h.stop:
					t.Stop()
					return
				case <-t.C:
				}
			}
			p, err := h.launch(context.Background(), h.spec(e.reg, e.path))
			if err == nil {
				if err = checkInfo(e.reg, p.info); err != nil {
					p.kill()
				}
			}
			e.mu.Lock()
			if e.removed {
				e.mu.Unlock()
				if p != nil && err == nil {
					p.kill()
				}
				return
			}
			if err == nil {
				e.cur = p
				e.state = StateReady
				if e.created.IsZero() {
					e.created = time.Now()
				}
				if crashes > 0 {
					e.restarts++
				}
				e.notify()
				e.mu.Unlock()
				go e.watch(p)
				return
			}
			now := time.Now()
			e.crashes = append(e.crashes, now)
			e.lastErr = err.Error()
			if len(e.crashes) >= h.cfg.QuarantineAfter {
				e.state = StateQuarantined
				e.notify()
				e.mu.Unlock()
				h.log.Error("plugin quarantined: it cannot be started", "plugin", e.reg.ID(), "error", err)
				return
			}
			e.notify()
			n := len(e.crashes)
			e.mu.Unlock()
			h.log.Warn("plugin restart failed", "plugin", e.reg.ID(), "error", err)
			delay = min(h.cfg.RestartBackoff<<min(n-1, 16), h.cfg.MaxRestartBackoff)
		}
	}()
}
