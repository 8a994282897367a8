// Package sdktest is the conformance suite for Moose plugins. Build your
// plugin, then run it from a test:
//
//	func TestConformance(t *testing.T) {
//		sdktest.TestProposer(t, "./bin/moose-plugin-mine",
//			sdktest.WithProposeRequest(&sdk.ProposeRequest{...a request your plugin answers...}))
//	}
//
// The binary is launched the way moosed launches it (go-plugin handshake,
// protocol version 1, gRPC only, automatic mTLS, sha256 checked before exec,
// an empty environment) and must pass: GetInfo reports the right kind and a
// name and version moosed accepts; a Propose (Validate) round trip succeeds;
// a 16 MiB request is accepted (above gRPC's 4 MiB default); a call
// cancelled by its deadline does not break the process; concurrent calls work.
package sdktest

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/sdk"
	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// Option adjusts the suite.
type Option func(*options)

type options struct {
	propose  *pluginv1.ProposeRequest
	validate *pluginv1.ValidateRequest
	env      []string
	args     []string
}

// WithProposeRequest is a request the proposer must answer without error.
func WithProposeRequest(r *pluginv1.ProposeRequest) Option { return func(o *options) { o.propose = r } }

// WithValidateRequest is a request the validator must answer without error.
func WithValidateRequest(r *pluginv1.ValidateRequest) Option {
	return func(o *options) { o.validate = r }
}

// WithEnv passes "NAME=value" variables, as an allowlist would.
func WithEnv(env ...string) Option { return func(o *options) { o.env = append(o.env, env...) } }

// WithArgs passes command-line arguments, as a registration would.
func WithArgs(args ...string) Option { return func(o *options) { o.args = append(o.args, args...) } }

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$`)
)

// TestProposer runs the conformance suite against a proposer binary.
func TestProposer(t *testing.T, binary string, opts ...Option) {
	t.Helper()
	o := apply(opts)
	raw := launch(t, binary, o, sdk.KindProposer)
	c := raw.(pluginv1.ProposerServiceClient)
	info := func(ctx context.Context) (*pluginv1.PluginInfo, error) {
		r, err := c.GetInfo(ctx, &pluginv1.ProposerServiceGetInfoRequest{})
		return r.GetInfo(), err
	}
	checkInfo(t, info, pluginv1.PluginKind_PLUGIN_KIND_PROPOSER)

	t.Run("round trip", func(t *testing.T) {
		req := o.propose
		if req == nil {
			req = &pluginv1.ProposeRequest{WorkOrder: &pluginv1.WorkOrder{Title: "sdktest"}, Cycle: 1}
		}
		_, err := c.Propose(ctx(t, time.Minute), req)
		if o.propose != nil && err != nil {
			t.Fatalf("Propose: %v", err)
		}
		checkNotBroken(t, err)
	})
	t.Run("large request", func(t *testing.T) {
		req := &pluginv1.ProposeRequest{
			WorkOrder: &pluginv1.WorkOrder{Title: "sdktest large"}, Cycle: 1,
			Project: &pluginv1.ProjectContext{Files: []*pluginv1.File{{Path: "big.txt", Content: strings.Repeat("x", 16<<20)}}},
		}
		if o.propose != nil {
			req.Variant = o.propose.GetVariant()
		}
		_, err := c.Propose(ctx(t, time.Minute), req)
		if status.Code(err) == codes.ResourceExhausted {
			t.Fatalf("a 16 MiB request was refused: %v (serve with sdk.ServeProposer)", err)
		}
		checkNotBroken(t, err)
	})
	t.Run("deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, _ = c.Propose(dctx, &pluginv1.ProposeRequest{WorkOrder: &pluginv1.WorkOrder{Title: "sdktest deadline"}})
		if _, err := info(ctx(t, 10*time.Second)); err != nil {
			t.Fatalf("plugin broken after a cancelled call: %v", err)
		}
	})
	concurrent(t, info)
}

// TestValidator runs the conformance suite against a validator binary.
func TestValidator(t *testing.T, binary string, opts ...Option) {
	t.Helper()
	o := apply(opts)
	raw := launch(t, binary, o, sdk.KindValidator)
	c := raw.(pluginv1.ValidatorServiceClient)
	info := func(ctx context.Context) (*pluginv1.PluginInfo, error) {
		r, err := c.GetInfo(ctx, &pluginv1.ValidatorServiceGetInfoRequest{})
		return r.GetInfo(), err
	}
	checkInfo(t, info, pluginv1.PluginKind_PLUGIN_KIND_VALIDATOR)
	t.Run("round trip", func(t *testing.T) {
		req := o.validate
		if req == nil {
			req = &pluginv1.ValidateRequest{WorktreePath: t.TempDir(), WorkOrder: &pluginv1.WorkOrder{Title: "sdktest"}}
		}
		_, err := c.Validate(ctx(t, 5*time.Minute), req)
		if o.validate != nil && err != nil {
			t.Fatalf("Validate: %v", err)
		}
		checkNotBroken(t, err)
	})
	t.Run("large request", func(t *testing.T) {
		files := make([]string, 0, 1<<14)
		for range cap(files) {
			files = append(files, strings.Repeat("d/", 500)+"f.go")
		}
		_, err := c.Validate(ctx(t, 5*time.Minute), &pluginv1.ValidateRequest{WorktreePath: t.TempDir(), ChangedFiles: files})
		if status.Code(err) == codes.ResourceExhausted {
			t.Fatalf("a 16 MiB request was refused: %v (serve with sdk.ServeValidator)", err)
		}
		checkNotBroken(t, err)
	})
	t.Run("deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, _ = c.Validate(dctx, &pluginv1.ValidateRequest{WorktreePath: t.TempDir()})
		if _, err := info(ctx(t, 10*time.Second)); err != nil {
			t.Fatalf("plugin broken after a cancelled call: %v", err)
		}
	})
	concurrent(t, info)
}

func apply(opts []Option) *options {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	return o
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// launch starts binary with moosed's client settings and dispenses kind.
func launch(t *testing.T, binary string, o *options, kind string) any {
	t.Helper()
	sum, err := fileSHA256(binary)
	if err != nil {
		t.Fatalf("hash plugin: %v", err)
	}
	cmd := exec.Command(binary, o.args...)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, o.env...)
	cfg := sdk.ClientConfig()
	cfg.Cmd = cmd
	cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: newHash()}
	cfg.StartTimeout = 30 * time.Second
	cfg.Stderr = logWriter{t}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Off})
	client := plugin.NewClient(cfg)
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("launch plugin (handshake failed: does it call sdk.Serve%s and print nothing on stdout?): %v", strings.Title(kind), err) //nolint:staticcheck // ASCII only
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		t.Fatalf("dispense %s: %v", kind, err)
	}
	return raw
}

func checkInfo(t *testing.T, info func(context.Context) (*pluginv1.PluginInfo, error), kind pluginv1.PluginKind) {
	t.Helper()
	i, err := info(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatalf("GetInfo: %v (is the binary a %s?)", err, kind)
	}
	if i.GetKind() != kind {
		t.Errorf("GetInfo kind = %s, want %s", i.GetKind(), kind)
	}
	if !namePattern.MatchString(i.GetName()) {
		t.Errorf("GetInfo name %q: want 1-63 lowercase letters, digits, '.', '_' or '-'", i.GetName())
	}
	if !versionPattern.MatchString(i.GetVersion()) {
		t.Errorf("GetInfo version %q: want 1-64 letters, digits, '.', '+', '_' or '-'", i.GetVersion())
	}
}

// checkNotBroken accepts a plugin's own errors but not a crash or a panic.
func checkNotBroken(t *testing.T, err error) {
	t.Helper()
	switch status.Code(err) {
	case codes.Unavailable:
		t.Fatalf("the plugin process died: %v", err)
	case codes.Internal:
		t.Fatalf("the plugin panicked or failed internally: %v", err)
	}
}

func concurrent(t *testing.T, info func(context.Context) (*pluginv1.PluginInfo, error)) {
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := info(ctx(t, 10*time.Second))
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent GetInfo: %v", err)
			}
		}
	})
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	if s := strings.TrimSpace(string(p)); s != "" {
		w.t.Log("plugin: " + s)
	}
	return len(p), nil
}
