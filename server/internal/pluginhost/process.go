package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/fault"
)

// proc is one running plugin process. A dead proc is never revived: go-plugin
// clients cannot restart, so a restart is a new proc.
type proc struct {
	client    *plugin.Client
	runner    *procRunner
	pid       int
	kind      Kind
	proposer  pluginv1.ProposerServiceClient
	validator pluginv1.ValidatorServiceClient
	architect pluginv1.ArchitectServiceClient
	info      *pluginv1.PluginInfo

	// ctx is cancelled when the process exits, failing its in-flight calls at once.
	ctx    context.Context
	cancel context.CancelFunc

	inflight sync.WaitGroup
	active   atomic.Int64
	// stopping: the host stops this process on purpose (reload, unregister,
	// close); its exit is not a crash.
	stopping atomic.Bool
	// condemned: the host killed it for not responding; no new call may use it.
	condemned atomic.Bool
	killOnce  sync.Once
}

func (p *proc) exited() <-chan struct{} { return p.runner.exited }

func (p *proc) dead() bool {
	select {
	case <-p.runner.exited:
		return true
	default:
		return false
	}
}

// kill stops the process on purpose.
func (p *proc) kill() {
	p.stopping.Store(true)
	p.cleanup()
}

// cleanup kills the process group and releases go-plugin's connection and socket.
func (p *proc) cleanup() {
	p.killOnce.Do(func() {
		_ = p.runner.Kill(context.Background())
		p.client.Kill()
		p.cancel()
	})
}

// ping asks the plugin for its info: the health check.
func (p *proc) ping(ctx context.Context) (*pluginv1.PluginInfo, error) {
	switch p.kind {
	case KindProposer:
		r, err := p.proposer.GetInfo(ctx, &pluginv1.ProposerServiceGetInfoRequest{})
		return r.GetInfo(), err
	case KindArchitect:
		r, err := p.architect.GetInfo(ctx, &pluginv1.ArchitectServiceGetInfoRequest{})
		return r.GetInfo(), err
	default:
		r, err := p.validator.GetInfo(ctx, &pluginv1.ValidatorServiceGetInfoRequest{})
		return r.GetInfo(), err
	}
}

// launchSpec is what launch needs to start a process.
type launchSpec struct {
	id     string
	kind   Kind // empty: probe (built-ins), proposer first
	path   string
	args   []string
	sha256 string
	env    []string
}

// launch starts a plugin, completes the handshake and asks for its info. A
// binary that cannot be started (sha256 changed, missing, not executable,
// failed handshake, no answer) is a startError saying why; a ctx that ends
// first is ctx's error.
func (h *Host) launch(ctx context.Context, s launchSpec) (*proc, error) {
	parent := ctx
	var pr *procRunner
	cfg := sdk.ClientConfig()
	cfg.StartTimeout = h.cfg.StartTimeout
	cfg.UnixSocketConfig = &plugin.UnixSocketConfig{TempDir: h.socketDir}
	cfg.Stderr = &stderrLogger{log: h.log.With("plugin", s.id)}
	// What plugin code writes to os.Stderr or os.Stdout after Serve reaches the
	// host through go-plugin's stdio stream, not the process's stderr (the SDK's
	// Logger writes to the latter): re-emit it too.
	cfg.SyncStderr = &stderrLogger{log: h.log.With("plugin", s.id)}
	cfg.SyncStdout = &stderrLogger{log: h.log.With("plugin", s.id, "stream", "stdout")}
	// go-plugin's own stderr parser panics on malformed JSON; with its logger
	// off it only copies lines to cfg.Stderr, which parses them safely.
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Off, Output: io.Discard})
	// go-plugin's SecureConfig cannot be combined with a RunnerFunc (it checks
	// the placeholder command's empty path), so the runner checks the sha256
	// itself, immediately before every exec.
	cfg.RunnerFunc = func(_ hclog.Logger, placeholder *exec.Cmd, _ string) (runner.Runner, error) {
		if err := verifySHA256(s.path, s.sha256); err != nil {
			return nil, err
		}
		cmd := exec.Command(s.path, s.args...)
		cmd.Env = append(slices.Clone(s.env), placeholder.Env...)
		r, err := newProcRunner(cmd)
		pr = r
		return r, err
	}
	client := plugin.NewClient(cfg)
	if _, err := client.Start(); err != nil {
		client.Kill()
		if pr != nil {
			_ = pr.Kill(context.Background())
		}
		return nil, cannotStart(fmt.Errorf("start plugin %s: %w", s.id, err))
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &proc{client: client, runner: pr, pid: pr.pid, kind: s.kind, ctx: pctx, cancel: cancel}
	go func() {
		<-pr.exited
		cancel()
	}()
	fail := func(err error) (*proc, error) {
		p.kill()
		if parent.Err() != nil { // the caller gave up: not the binary's fault
			return nil, fmt.Errorf("start plugin %s: %w", s.id, parent.Err())
		}
		var ve *fault.ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, cannotStart(err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(fmt.Errorf("connect plugin %s: %w", s.id, err))
	}
	kinds := []Kind{s.kind}
	if s.kind == "" {
		kinds = []Kind{KindProposer, KindValidator, KindArchitect}
	}
	ctx, cancelStart := context.WithTimeout(ctx, h.cfg.StartTimeout)
	defer cancelStart()
	for _, k := range kinds {
		raw, err := rpc.Dispense(string(k))
		if err != nil {
			return fail(fmt.Errorf("dispense plugin %s: %w", s.id, err))
		}
		p.kind, p.proposer, p.validator, p.architect = k, nil, nil, nil
		switch c := raw.(type) {
		case pluginv1.ProposerServiceClient:
			p.proposer = c
		case pluginv1.ValidatorServiceClient:
			p.validator = c
		case pluginv1.ArchitectServiceClient:
			p.architect = c
		}
		info, err := p.ping(ctx)
		if status.Code(err) == codes.Unimplemented {
			if s.kind == "" {
				continue
			}
			return fail(fault.Invalid("kind", "binary does not serve the %s service: is it registered with the right kind?", s.kind))
		}
		if err != nil {
			return fail(fmt.Errorf("get info from plugin %s: %w", s.id, err))
		}
		p.info = info
		return p, nil
	}
	return fail(fmt.Errorf("plugin %s serves no known plugin kind (proposer, validator, architect)", s.id))
}

// env builds a plugin's complete environment: nothing is inherited.
func (h *Host) env(reg Registration) []string {
	env := []string{
		"PATH=" + minimalPath(h.cfg.LookupEnv),
		"HOME=" + homeDir(h.cfg.LookupEnv),
		"TMPDIR=" + os.TempDir(),
		envHostID + "=" + h.id,
		envHostOwner + "=" + h.owner.String(),
	}
	if v, ok := h.cfg.LookupEnv("MOOSE_PLUGIN_LOG_LEVEL"); ok {
		env = append(env, "MOOSE_PLUGIN_LOG_LEVEL="+v)
	}
	if reg.Kind == KindValidator && h.cfg.ValidatorsUnsandboxed {
		// The operator's explicit opt-out: validators run generated code
		// without bubblewrap (still with a cleared environment and limits).
		env = append(env, "MOOSE_UNSANDBOXED=1")
	}
	// The allowlisted variables are not in the environment: they travel per
	// call, only to allowed endpoints (credentials).
	return env
}

func minimalPath(lookup func(string) (string, bool)) string {
	// The server's PATH is not a secret, and validators need it to find
	// compilers; it is the one variable passed through.
	if v, ok := lookup("PATH"); ok && v != "" {
		return v
	}
	return "/usr/local/bin:/usr/bin:/bin"
}

func homeDir(lookup func(string) (string, bool)) string {
	if v, ok := lookup("HOME"); ok && v != "" {
		return v
	}
	return os.TempDir()
}

func socketRoot(id string) string {
	return filepath.Join(os.TempDir(), "moose-plugins-"+id[:12])
}
