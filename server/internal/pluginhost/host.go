package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/fault"
)

// Host is the plugin catalog and the supervisor of the plugin processes. It
// keeps its own registry of processes (go-plugin's global client list only
// grows) and is safe for concurrent use.
type Host struct {
	cfg       Config
	log       *slog.Logger
	id        string
	owner     owner
	socketDir string

	regMu   sync.Mutex // serialises Register, Reload and Unregister
	mu      sync.Mutex
	entries map[key]*entry
	closed  bool

	stop chan struct{}
	bg   sync.WaitGroup
}

type key struct {
	kind          Kind
	name, version string
}

func keyOf(r Registration) key { return key{r.Kind, r.Name, r.Version} }

// New validates cfg and returns a Host. Call Start before use and Close at the end.
func New(cfg Config) (*Host, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("plugin host config: %w", err)
	}
	self, err := selfOwner()
	if err != nil {
		return nil, fmt.Errorf("plugin host identity: %w", err)
	}
	id := hostID(cfg.DataDir)
	sockRoot := cfg.SocketDir
	if sockRoot == "" {
		sockRoot = socketRoot(id)
	}
	return &Host{
		cfg:       cfg,
		log:       cfg.Logger,
		id:        id,
		owner:     self,
		socketDir: filepath.Join(sockRoot, self.String()),
		entries:   map[key]*entry{},
		stop:      make(chan struct{}),
	}, nil
}

// Start kills plugin processes and removes sockets left behind by a previous
// host with the same DataDir that died without cleaning up, launches every
// registration found in the Store, and starts the health pinger.
func (h *Host) Start(ctx context.Context) error {
	killed, err := reapOrphans(h.id)
	if err != nil {
		return err
	}
	if len(killed) > 0 {
		h.log.Warn("killed orphaned plugin processes of a previous run", "pids", killed)
	}
	if err := reapSockets(filepath.Dir(h.socketDir)); err != nil {
		return err
	}
	if err := os.MkdirAll(h.socketDir, 0o700); err != nil {
		return fmt.Errorf("create plugin socket dir: %w", err)
	}
	if h.cfg.Store != nil {
		stored, err := h.cfg.Store.ListPlugins(ctx)
		if err != nil {
			return fmt.Errorf("load plugin catalog: %w", err)
		}
		for _, sp := range stored {
			h.adoptStored(sp)
		}
	}
	h.bg.Add(1)
	go h.healthLoop()
	return nil
}

// Close stops every plugin. In-flight calls get until ctx is done to finish.
func (h *Host) Close(ctx context.Context) error {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.stop)
	entries := make([]*entry, 0, len(h.entries))
	for _, e := range h.entries {
		entries = append(entries, e)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p := e.detach(StateStopped); p != nil {
				drain(ctx, p)
				p.kill()
			}
		}()
	}
	wg.Wait()
	h.bg.Wait()
	_ = os.RemoveAll(h.socketDir)
	// The per-host root goes too once no other process of this host uses it.
	_ = os.Remove(filepath.Dir(h.socketDir))
	return nil
}

// Register verifies and launches a plugin and adds it to the catalog: the
// command must resolve inside the plugin directory (here, on the server), the
// binary's sha256 is pinned (reg.SHA256, when set, must equal it), and the
// running binary must report the registered kind, name and version. The
// returned Plugin names the resolved Path and the pinned SHA256.
//
// A binary that is missing, not executable, not the sha256 asked for or fails
// the handshake is a fault.ErrFailedPrecondition saying why; malformed input
// and a binary reporting another kind, name or version are a
// fault.ValidationError. A version names one binary: registering an existing
// version with another binary fails with fault.ErrConflict (Rehash re-pins a
// rebuilt one on purpose); an identical registration returns the existing entry.
func (h *Host) Register(ctx context.Context, reg Registration) (Plugin, error) {
	reg.Args = slices.Clone(reg.Args)
	reg.Env = slices.Clone(reg.Env)
	if err := reg.validate(); err != nil {
		return Plugin{}, err
	}
	path, sum, err := h.pin(reg.Command, reg.SHA256)
	if err != nil {
		return Plugin{}, fmt.Errorf("register plugin %s: %w", reg.ID(), err)
	}
	reg.SHA256 = sum
	return h.register(ctx, reg, path, false, nil)
}

// pin resolves command in the plugin directory and returns the binary's path
// and sha256, which must equal want unless want is empty.
func (h *Host) pin(command, want string) (path, sum string, err error) {
	if path, err = resolveCommand(h.cfg.Dir, command); err != nil {
		return "", "", err
	}
	if sum, err = FileSHA256(path); err != nil {
		return "", "", cannotStart(err)
	}
	if want != "" && sum != want {
		return "", "", cannotStart(fmt.Errorf("%s has sha256 %s, the request says %s: %w", path, sum, want, ErrChecksum))
	}
	return path, sum, nil
}

// register adds reg to the catalog. A built-in arrives with its process
// already launched (probed for its kind) in p.
func (h *Host) register(ctx context.Context, reg Registration, path string, builtin bool, p *proc) (_ Plugin, err error) {
	if p != nil {
		defer func() {
			if err != nil {
				p.kill()
			}
		}()
	}
	h.regMu.Lock()
	defer h.regMu.Unlock()
	if old, ok := h.lookup(keyOf(reg)); ok {
		if p != nil && old.reg.SHA256 == reg.SHA256 {
			p.kill() // an identical built-in is already running
			return old.snapshot(), nil
		}
		if old.reg.SHA256 == reg.SHA256 && old.reg.Command == reg.Command &&
			slices.Equal(old.reg.Args, reg.Args) && slices.Equal(old.reg.Env, reg.Env) {
			return old.snapshot(), nil
		}
		if !builtin || !old.builtin {
			return Plugin{}, versionTaken(reg, old.reg.SHA256)
		}
	}
	if h.cfg.Store != nil && !builtin {
		if sp, err := h.cfg.Store.GetPlugin(ctx, reg.Kind, reg.Name, reg.Version); err == nil && sp.SHA256 != reg.SHA256 {
			return Plugin{}, versionTaken(reg, sp.SHA256)
		}
	}
	if p == nil {
		if p, err = h.launch(ctx, h.spec(reg, path)); err != nil {
			return Plugin{}, fmt.Errorf("register plugin %s: %w", reg.ID(), err)
		}
		if err := checkInfo(reg, p.info); err != nil {
			p.kill()
			return Plugin{}, err
		}
	}
	created := time.Now()
	if h.cfg.Store != nil && !builtin {
		if err := h.cfg.Store.SavePlugin(ctx, reg, created); err != nil {
			p.kill()
			return Plugin{}, fmt.Errorf("register plugin %s: %w", reg.ID(), err)
		}
	}
	e := h.newEntry(reg, path, builtin, created)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		p.kill()
		return Plugin{}, fmt.Errorf("register plugin %s: host is closed: %w", reg.ID(), fault.ErrUnavailable)
	}
	old := h.entries[keyOf(reg)]
	h.entries[keyOf(reg)] = e
	h.mu.Unlock()
	e.install(p)
	if old != nil { // a rebuilt built-in replaces the previous build
		h.retire(old)
	}
	h.log.Info("plugin registered", "plugin", reg.ID(), "pid", p.pid, "builtin", builtin)
	return e.snapshot(), nil
}

// versionTaken refuses another binary under a registered version, saying
// what to do instead.
func versionTaken(reg Registration, pinned string) error {
	return fmt.Errorf("register plugin %s: version is already registered with sha256 %s (this binary has %s); "+
		"register a new version, or pin a rebuilt binary with a rehashing reload: %w", reg.ID(), pinned, reg.SHA256, fault.ErrConflict)
}

func (h *Host) spec(reg Registration, path string) launchSpec {
	return launchSpec{id: reg.ID(), kind: reg.Kind, path: path, args: reg.Args, sha256: reg.SHA256, env: h.env(reg)}
}

// checkInfo refuses a binary that is not what its registration says.
func checkInfo(reg Registration, info *pluginv1.PluginInfo) error {
	v := &fault.ValidationError{}
	wantKind := pluginv1.PluginKind_PLUGIN_KIND_PROPOSER
	switch reg.Kind {
	case KindValidator:
		wantKind = pluginv1.PluginKind_PLUGIN_KIND_VALIDATOR
	case KindArchitect:
		wantKind = pluginv1.PluginKind_PLUGIN_KIND_ARCHITECT
	}
	if info.GetKind() != wantKind {
		v.Add("kind", "binary reports kind %s, registration says %s", info.GetKind(), reg.Kind)
	}
	if info.GetName() != reg.Name {
		v.Add("name", "binary reports name %q, registration says %q", info.GetName(), reg.Name)
	}
	if info.GetVersion() != reg.Version {
		v.Add("version", "binary reports version %q, registration says %q", info.GetVersion(), reg.Version)
	}
	return v.Err()
}

// Reload starts and health-checks a fresh process for a registered plugin,
// routes new calls to it, and then drains and stops the old process in the
// background, so no call fails because of the reload. It also lifts a
// quarantine. The binary must still have its pinned sha256: a rebuilt one is
// refused (fault.ErrFailedPrecondition, wrapping ErrChecksum) and the old
// process keeps serving; Rehash pins the new build.
func (h *Host) Reload(ctx context.Context, kind Kind, name, version string) (Plugin, error) {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	e, ok := h.lookup(key{kind, name, version})
	if !ok {
		return Plugin{}, notFound(kind, name, version)
	}
	return h.reload(ctx, e)
}

// reload is Reload of e. Caller holds h.regMu.
func (h *Host) reload(ctx context.Context, e *entry) (Plugin, error) {
	// launch checks the sha256 again right before exec; checking here first
	// lets a rebuilt binary's refusal say what to do about it.
	if err := verifySHA256(e.path, e.reg.SHA256); errors.Is(err, ErrChecksum) {
		how := "pin the new build with a rehashing reload"
		if e.builtin {
			how = "restart moosed after make build to load a rebuilt built-in"
		} else {
			how += fmt.Sprintf(" (moosectl plugin reload %s %s %s --rehash)", e.reg.Kind, e.reg.Name, e.reg.Version)
		}
		return Plugin{}, preconditionf("reload plugin %s: %w: the binary changed since it was pinned; %s, or register it as a new version",
			e.reg.ID(), err, how)
	}
	p, err := h.launch(ctx, h.spec(e.reg, e.path))
	if err != nil {
		return Plugin{}, fmt.Errorf("reload plugin %s: %w", e.reg.ID(), err)
	}
	if err := checkInfo(e.reg, p.info); err != nil {
		p.kill()
		return Plugin{}, fmt.Errorf("reload plugin %s: %w", e.reg.ID(), err)
	}
	if old := e.swap(p); old != nil {
		h.drainAndKill(old)
	}
	h.log.Info("plugin reloaded", "plugin", e.reg.ID(), "pid", p.pid)
	return e.snapshot(), nil
}

// Rehash is Reload for a rebuilt binary under the same version: it resolves
// the registration's command again, pins the binary's current sha256 (want,
// when not empty, must equal it) and starts it. Only once the new process is
// healthy and reports the registered kind, name and version is the new pin
// stored and are new calls routed to it; the old process is drained and
// stopped. On any failure the old registration and process stay as they were.
//
// It is meant for plugins under development: a version then names the
// newest build, not one binary forever. Built-ins are pinned by the manifest
// and refused.
func (h *Host) Rehash(ctx context.Context, kind Kind, name, version, want string) (Plugin, error) {
	want = strings.ToLower(strings.TrimSpace(want))
	if want != "" && !hexSHA256.MatchString(want) {
		return Plugin{}, fault.Invalid("sha256", "must be 64 hex digits")
	}
	h.regMu.Lock()
	defer h.regMu.Unlock()
	e, ok := h.lookup(key{kind, name, version})
	if !ok {
		return Plugin{}, notFound(kind, name, version)
	}
	id := e.reg.ID()
	if e.builtin {
		return Plugin{}, preconditionf("rehash plugin %s: built-ins are pinned by the plugin manifest; run make build and restart moosed to load a rebuilt one", id)
	}
	path, sum, err := h.pin(e.reg.Command, want)
	if err != nil {
		return Plugin{}, fmt.Errorf("rehash plugin %s: %w", id, err)
	}
	if sum == e.reg.SHA256 && path == e.path {
		return h.reload(ctx, e)
	}
	reg := e.reg
	reg.Args, reg.Env, reg.AllowedBaseURLs = slices.Clone(reg.Args), slices.Clone(reg.Env), slices.Clone(reg.AllowedBaseURLs)
	reg.SHA256 = sum
	p, err := h.launch(ctx, h.spec(reg, path))
	if err != nil {
		return Plugin{}, fmt.Errorf("rehash plugin %s: %w", id, err)
	}
	if err := checkInfo(reg, p.info); err != nil {
		p.kill()
		return Plugin{}, fmt.Errorf("rehash plugin %s: %w", id, err)
	}
	if h.cfg.Store != nil {
		if err := h.cfg.Store.RepinPlugin(ctx, kind, name, version, sum); err != nil {
			p.kill()
			return Plugin{}, fmt.Errorf("rehash plugin %s: %w", id, err)
		}
	}
	// The pin is part of the immutable registration an entry holds, so a
	// new entry takes the old one's place; callers waiting on the old one
	// move over to it.
	next := h.newEntry(reg, path, false, e.created)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		p.kill()
		return Plugin{}, fmt.Errorf("rehash plugin %s: host is closed: %w", id, fault.ErrUnavailable)
	}
	h.entries[keyOf(reg)] = next
	h.mu.Unlock()
	next.install(p)
	if old := e.supersede(next); old != nil {
		h.drainAndKill(old)
	}
	h.log.Warn("plugin re-pinned to a rebuilt binary", "plugin", id, "path", path, "sha256", sum, "previous_sha256", e.reg.SHA256, "pid", p.pid)
	return next.snapshot(), nil
}

// Unregister removes a plugin from the catalog. New calls fail with
// fault.ErrNotFound at once; calls in flight finish before the process stops.
func (h *Host) Unregister(ctx context.Context, kind Kind, name, version string) error {
	h.regMu.Lock()
	defer h.regMu.Unlock()
	k := key{kind, name, version}
	e, ok := h.lookup(k)
	if !ok {
		return notFound(kind, name, version)
	}
	if h.cfg.Store != nil && !e.builtin {
		if err := h.cfg.Store.DeletePlugin(ctx, kind, name, version); err != nil {
			return fmt.Errorf("unregister plugin %s: %w", e.reg.ID(), err)
		}
	}
	h.mu.Lock()
	delete(h.entries, k)
	h.mu.Unlock()
	h.retire(e)
	h.log.Info("plugin unregistered", "plugin", e.reg.ID())
	return nil
}

func (h *Host) retire(e *entry) {
	if p := e.detach(StateStopped); p != nil {
		h.drainAndKill(p)
	}
}

func (h *Host) drainAndKill(p *proc) {
	p.stopping.Store(true)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.DrainTimeout)
		defer cancel()
		drain(ctx, p)
		p.kill()
	}()
}

// drain waits until p has no call in flight, ctx is done, or p died.
func drain(ctx context.Context, p *proc) {
	done := make(chan struct{})
	go func() {
		p.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	case <-p.exited():
	}
}

// Get returns one plugin.
func (h *Host) Get(kind Kind, name, version string) (Plugin, error) {
	e, ok := h.lookup(key{kind, name, version})
	if !ok {
		return Plugin{}, notFound(kind, name, version)
	}
	return e.snapshot(), nil
}

// List returns every plugin of kind (all kinds when empty), sorted by kind, name, version.
func (h *Host) List(kind Kind) []Plugin {
	h.mu.Lock()
	out := make([]Plugin, 0, len(h.entries))
	for k, e := range h.entries {
		if kind == "" || k.kind == kind {
			out = append(out, e.snapshot())
		}
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return out
}

func (h *Host) lookup(k key) (*entry, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.entries[k]
	return e, ok
}

// resolve finds the entry for a call. An empty version picks the most recently
// registered version of that name.
func (h *Host) resolve(kind Kind, name, version string) (*entry, error) {
	if version != "" {
		if e, ok := h.lookup(key{kind, name, version}); ok {
			return e, nil
		}
		return nil, notFound(kind, name, version)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var best *entry
	for k, e := range h.entries {
		if k.kind == kind && k.name == name && (best == nil || e.created.After(best.created)) {
			best = e
		}
	}
	if best == nil {
		return nil, notFound(kind, name, "")
	}
	return best, nil
}

// adoptStored installs a registration from the catalog and launches it
// through the restart path, so a broken stored entry retries with backoff
// instead of failing the caller. It returns the entry (an existing one wins).
func (h *Host) adoptStored(sp StoredPlugin) *entry {
	path, err := resolveCommand(h.cfg.Dir, sp.Command)
	if err != nil {
		h.log.Error("registered plugin cannot be resolved", "plugin", sp.ID(), "error", err)
		path = sp.Command
	}
	h.mu.Lock()
	if e, ok := h.entries[keyOf(sp.Registration)]; ok {
		h.mu.Unlock()
		return e
	}
	e := h.newEntry(sp.Registration, path, false, sp.CreatedAt)
	h.entries[keyOf(sp.Registration)] = e
	h.mu.Unlock()
	e.scheduleRestart(0)
	return e
}

// resolveShared is resolve for calls: a plugin another moosed registered in
// the shared catalog after this one started is adopted on first use, so every
// node can serve every registered variant without a restart.
func (h *Host) resolveShared(ctx context.Context, kind Kind, name, version string) (*entry, error) {
	e, err := h.resolve(kind, name, version)
	if err == nil || h.cfg.Store == nil {
		return e, err
	}
	stored, lerr := h.cfg.Store.ListPlugins(ctx)
	if lerr != nil {
		return nil, err
	}
	var best *StoredPlugin
	for i, sp := range stored {
		if sp.Kind == kind && sp.Name == name && (version == "" || sp.Version == version) &&
			(best == nil || sp.CreatedAt.After(best.CreatedAt)) {
			best = &stored[i]
		}
	}
	if best == nil {
		return nil, err
	}
	h.log.Info("adopting a plugin registered by another node", "plugin", best.ID())
	return h.adoptStored(*best), nil
}

func notFound(kind Kind, name, version string) error {
	id := strings.TrimSuffix(string(kind)+"/"+name+"/"+version, "/")
	return fmt.Errorf("plugin %s: %w", id, fault.ErrNotFound)
}

// healthLoop pings idle plugins; one that does not answer is killed, which
// the supervisor treats as a crash (restart, eventually quarantine).
func (h *Host) healthLoop() {
	defer h.bg.Done()
	t := time.NewTicker(h.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		entries := make([]*entry, 0, len(h.entries))
		for _, e := range h.entries {
			entries = append(entries, e)
		}
		h.mu.Unlock()
		for _, e := range entries {
			e.mu.Lock()
			p := e.cur
			e.mu.Unlock()
			if p == nil || p.active.Load() > 0 {
				continue
			}
			h.checkHealth(p, e.reg.ID(), "health ping failed")
		}
	}
}

// checkHealth pings p and kills it when it does not answer in time.
func (h *Host) checkHealth(p *proc, id, reason string) bool {
	ctx, cancel := context.WithTimeout(p.ctx, h.cfg.HealthTimeout)
	defer cancel()
	if _, err := p.ping(ctx); err != nil && !p.stopping.Load() && !p.dead() {
		h.log.Warn("plugin unresponsive, killing it", "plugin", id, "pid", p.pid, "reason", reason, "error", err)
		p.condemned.Store(true)
		_ = p.runner.Kill(context.Background())
		return false
	}
	return true
}
