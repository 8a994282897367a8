package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	"github.com/moosehq/moose/server/internal/fault"
)

// CallError is a failed plugin call. It unwraps to fault.ErrUnavailable when the
// plugin crashed, hung or could not be reached (retrying may help), and to
// fault.ErrFailedPrecondition when the plugin itself answered with an error
// (a replay cassette without the key, a model server refusing the request).
type CallError struct {
	Plugin string
	Method string
	// Code is the gRPC code the plugin (or the transport) returned.
	Code    codes.Code
	Message string
	// Crashed: the process died during the call.
	Crashed bool
	// TimedOut: the call exceeded its deadline.
	TimedOut bool
}

func (e *CallError) Error() string {
	switch {
	case e.Crashed:
		return fmt.Sprintf("plugin %s crashed during %s: %s", e.Plugin, e.Method, e.Message)
	case e.TimedOut:
		return fmt.Sprintf("plugin %s: %s timed out: %s", e.Plugin, e.Method, e.Message)
	default:
		return fmt.Sprintf("plugin %s: %s failed (%s): %s", e.Plugin, e.Method, e.Code, e.Message)
	}
}

func (e *CallError) Unwrap() []error {
	errs := []error{fault.ErrUnavailable}
	if !e.Crashed && !e.TimedOut && e.Code != codes.Unavailable && e.Code != codes.Internal && e.Code != codes.ResourceExhausted {
		errs = []error{fault.ErrFailedPrecondition}
	}
	if e.Code == codes.ResourceExhausted && strings.Contains(e.Message, "larger than max") {
		// A message over the transport's limit is the same message next time.
		errs = []error{fault.ErrFailedPrecondition}
	}
	if e.TimedOut {
		errs = append(errs, context.DeadlineExceeded)
	}
	return errs
}

// Propose sends one proposing cycle to a proposer plugin. An empty version
// picks the most recently registered version of name. The call is bounded by
// Config.ProposeTimeout as well as ctx.
func (h *Host) Propose(ctx context.Context, name, version string, req *pluginv1.ProposeRequest) (*pluginv1.ProposeResponse, error) {
	var resp *pluginv1.ProposeResponse
	err := h.call(ctx, KindProposer, name, version, "Propose", h.cfg.ProposeTimeout, func(ctx context.Context, reg Registration, p *proc) error {
		var err error
		resp, err = p.proposer.Propose(ctx, withCredentials(req, h.credentials(reg, req.GetVariant().GetBaseUrl())))
		return err
	})
	return resp, err
}

// Validate sends a worktree to a validator plugin. An empty version picks the
// most recently registered version of name. The call is bounded by
// ValidateDeadline(req) as well as ctx.
func (h *Host) Validate(ctx context.Context, name, version string, req *pluginv1.ValidateRequest) (*pluginv1.ValidateResponse, error) {
	var resp *pluginv1.ValidateResponse
	err := h.call(ctx, KindValidator, name, version, "Validate", h.ValidateDeadline(req), func(ctx context.Context, reg Registration, p *proc) error {
		var err error
		resp, err = p.validator.Validate(ctx, req)
		return err
	})
	return resp, err
}

// ValidateDeadline is how long one Validate call may take: with a command
// limit in the request, time for two commands under it (build and vet, or
// the tests and their report), the build limit for compiling tests on top
// when the request has one, the mutation budget as far as a validator may
// stretch it (MutationAllowance) and a minute for the sandbox's set-up;
// without one, Config.ValidateTimeout. The pipeline's execution budget counts
// validator calls the same way.
func (h *Host) ValidateDeadline(req *pluginv1.ValidateRequest) time.Duration {
	t := req.GetTimeout().AsDuration()
	if t <= 0 {
		return h.cfg.ValidateTimeout
	}
	return 2*t + req.GetBuildTimeout().AsDuration() + MutationAllowance(req.GetMutation().GetTimeBudget().AsDuration(), req.GetMutation().GetDisabled()) + time.Minute
}

// Mutation budgets: a validator's default wall time for the mutants, and how
// far it may stretch that time to the pace of the passing run (a slower or
// busier machine runs the same mutants rather than fewer). The built-in
// validators' package mutate has the same two numbers.
const (
	DefaultMutationTime = 30 * time.Second
	MutationStretch     = 4
)

// MutationAllowance is the time a validate call allows for test strength with
// the given mutation time budget (0: the default): the budget stretched as far
// as a validator may stretch it; none when mutation is disabled.
func MutationAllowance(budget time.Duration, disabled bool) time.Duration {
	if disabled {
		return 0
	}
	if budget <= 0 {
		budget = DefaultMutationTime
	}
	return MutationStretch * budget
}

// Ping health-checks a plugin's current process.
func (h *Host) Ping(ctx context.Context, kind Kind, name, version string) error {
	return h.call(ctx, kind, name, version, "GetInfo", h.cfg.HealthTimeout, func(ctx context.Context, reg Registration, p *proc) error {
		_, err := p.ping(ctx)
		return err
	})
}

func (h *Host) call(ctx context.Context, kind Kind, name, version, method string, timeout time.Duration, fn func(context.Context, Registration, *proc) error) error {
	e, err := h.resolveShared(ctx, kind, name, version)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release()
	// A crash fails the call at once rather than when the transport notices.
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	err = fn(ctx, e.reg, p)
	if err == nil {
		return nil
	}
	if c := status.Code(err); (c == codes.Unavailable || c == codes.Canceled) && ctx.Err() == nil {
		// The transport often reports a dead peer before the process has been
		// reaped; give the exit a moment to be observed so the error says why.
		t := time.NewTimer(2 * time.Second)
		select {
		case <-p.exited():
		case <-t.C:
		}
		t.Stop()
	}
	ce := &CallError{Plugin: e.reg.ID(), Method: method, Code: status.Code(err), Message: status.Convert(err).Message()}
	switch {
	case p.dead() && !p.stopping.Load():
		ce.Crashed = true
		ce.Message = "the plugin process exited; a fresh one is being started"
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || ce.Code == codes.DeadlineExceeded:
		ce.TimedOut = true
		// A plugin that ignores its deadline may be wedged entirely: if it does
		// not answer a ping either, kill it so the next call gets a fresh one.
		if !h.checkHealth(p, e.reg.ID(), "call exceeded its deadline") {
			ce.Message += "; the plugin stopped responding and is being restarted"
		}
	}
	return ce
}
