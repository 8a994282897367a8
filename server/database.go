package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/moosehq/moose/server/internal/pgembed"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

// startEmbedded starts the private cluster under the data directory and
// returns its DSN. Restarts (see superviseDatabase) reuse the same options,
// socket directory included, so the DSN the pool holds stays valid.
func (s *Server) startEmbedded(ctx context.Context) (string, error) {
	opts := pgembed.Options{DataDir: filepath.Join(s.cfg.DataDir, "pg"), Logger: s.log.With("component", "postgres"), Fsync: true}
	c, err := pgembed.Start(ctx, opts)
	if err != nil {
		return "", err
	}
	opts.SocketDir = c.SocketDir()
	s.dbMu.Lock()
	s.cluster, s.clusterOpts = c, opts
	s.dbMu.Unlock()
	s.log.Info("embedded postgres ready", "data_dir", c.DataDir(), "socket_dir", c.SocketDir(), "reused", c.Reused())
	return c.DSN(pgembed.DefaultDatabase), nil
}

// superviseDatabase restarts the embedded cluster whenever its postmaster
// exits without being asked to (killed, crashed), with backoff from 500ms to
// 5s, until ctx ends. Meanwhile API calls answer Unavailable and /readyz 503;
// the pool, the job client and the event hub reconnect on their own once the
// socket answers again, and jobs the outage orphaned are re-queued.
func (s *Server) superviseDatabase(ctx context.Context) {
	for {
		s.dbMu.Lock()
		c := s.cluster
		s.dbMu.Unlock()
		if c == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-c.Exited():
		}
		if ctx.Err() != nil {
			return
		}
		s.restarting.Store(true)
		s.log.Error("embedded postgres exited unexpectedly; restarting it", "data_dir", c.DataDir(), "pid", c.PID())
		// The first attempt waits a little: the dead postmaster's backends
		// need a moment to notice and exit (pgembed reaps stragglers anyway).
		backoff := 500 * time.Millisecond
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			nc, err := pgembed.Start(ctx, s.clusterOpts)
			if err == nil {
				s.dbMu.Lock()
				s.cluster = nc
				s.dbMu.Unlock()
				s.restarts.Add(1)
				s.restarting.Store(false)
				s.log.Info("embedded postgres restarted", "pid", nc.PID(), "restarts", s.restarts.Load())
				s.afterDatabaseRestart(ctx)
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.log.Error("restart embedded postgres", "err", err, "retry_in", backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// afterDatabaseRestart re-queues executions whose job the outage left marked
// running although no worker of this node runs it any more (its completion
// could not be recorded while the database was down).
func (s *Server) afterDatabaseRestart(ctx context.Context) {
	if s.engine == nil {
		return
	}
	for attempt := 0; attempt < 20 && ctx.Err() == nil; attempt++ {
		n, err := s.engine.RequeueOrphaned(ctx)
		if err == nil {
			if n > 0 {
				s.log.Info("re-queued executions orphaned by the database outage", "count", n)
			}
			return
		}
		s.log.Warn("re-queue orphaned executions", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// readiness is /readyz's body.
type readiness struct {
	Status   string `json:"status"`   // "ready" or "unavailable"
	Database string `json:"database"` // "up", "down" or "restarting"
	Embedded bool   `json:"embedded"`
	Restarts int64  `json:"embedded_restarts"`
	// Node is this executing node's id in the cluster (empty on an API-only
	// node); Lease is "held" or "lapsed".
	Node  string `json:"node,omitempty"`
	Lease string `json:"lease,omitempty"`
	// Sandbox is "bubblewrap" (found on PATH), "missing" or "disabled"
	// (--unsandboxed).
	Sandbox string `json:"sandbox"`
	// Plugins counts the registered plugins by state; Unavailable names the
	// validators every cycle runs that are missing, quarantined or stopped.
	// They are reported, not gating: the API and the rest of the node keep
	// serving while an operator releases or re-registers a plugin.
	Plugins     map[string]int `json:"plugins"`
	Unavailable []string       `json:"unavailable_validators,omitempty"`
}

// ready checks what serving work orders needs: the database answers a ping
// within 2s and the sandbox's bubblewrap is there (unless --unsandboxed);
// it also reports the plugins' states.
func (s *Server) ready(ctx context.Context) (readiness, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	body := readiness{Status: "ready", Database: "up", Embedded: s.cfg.DatabaseURL == "", Restarts: s.restarts.Load(),
		Sandbox: "bubblewrap", Plugins: map[string]int{}}
	ok := true
	if s.node != nil {
		body.Node, body.Lease = s.node.ID(), "held"
		if s.node.Valid() != nil {
			body.Lease = "lapsed"
		}
	}
	if err := s.pool.Ping(ctx); err != nil {
		ok = false
		body.Database = "down"
		if s.restarting.Load() {
			body.Database = "restarting"
		}
		if !errors.Is(err, context.Canceled) {
			s.log.Debug("readiness check failed", "err", err)
		}
	}
	switch {
	case s.cfg.Unsandboxed:
		body.Sandbox = "disabled"
	case !s.sandboxFound():
		body.Sandbox, ok = "missing", false
	}
	if s.plugins != nil {
		states := map[string]pluginhost.State{} // validators by name
		for _, p := range s.plugins.List("") {
			body.Plugins[string(p.State)]++
			if p.Kind == pluginhost.KindValidator {
				states[p.Name] = p.State
			}
		}
		for _, v := range s.cfg.Validators {
			if st, found := states[v]; !found || st == pluginhost.StateQuarantined || st == pluginhost.StateStopped {
				body.Unavailable = append(body.Unavailable, v)
			}
		}
	}
	if !ok {
		body.Status = "unavailable"
	}
	return body, ok
}

// sandboxFound: bubblewrap, which every validator runs generated code in,
// is on PATH.
func (s *Server) sandboxFound() bool {
	_, err := exec.LookPath("bwrap")
	return err == nil
}

// readyz answers 200 when the server is ready (see ready), else 503. Its
// body says why, without error text (it is unauthenticated).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	body, ok := s.ready(r.Context())
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// watchHealth keeps the gRPC health service in step with readiness: every
// service moosed serves (and "", the server as a whole) is SERVING while it
// is ready and NOT_SERVING while it is not, checked every interval.
func (s *Server) watchHealth(ctx context.Context, interval time.Duration) {
	var names []string
	for name := range s.grpcSrv.GetServiceInfo() {
		if name != healthpb.Health_ServiceDesc.ServiceName {
			names = append(names, name)
		}
	}
	set := func() {
		status := healthpb.HealthCheckResponse_SERVING
		if _, ok := s.ready(ctx); !ok {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		if ctx.Err() != nil {
			return
		}
		s.health.SetServingStatus("", status)
		for _, n := range names {
			s.health.SetServingStatus(n, status)
		}
	}
	set()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			set()
		}
	}
}
