package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/moosehq/moose/plugins/sdk/param"
)

// Policy says how often and how long to try one model call.
type Policy struct {
	// MaxAttempts includes the first attempt. Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt up to MaxDelay.
	// Defaults 1s and 30s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter is the longest Retry-After worth waiting for. Default 2m.
	MaxRetryAfter time.Duration
	// CallTimeout bounds each attempt. Default 3m.
	CallTimeout time.Duration
	// Sleep waits between attempts; nil waits on a timer. Tests record delays with it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives one line per retry; nil logs nothing.
	Log *slog.Logger
}

// DefaultPolicy is the policy of a variant that sets no retry params.
func DefaultPolicy() Policy {
	return Policy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 30 * time.Second, MaxRetryAfter: 2 * time.Minute, CallTimeout: 3 * time.Minute}
}

// PolicyFromParams is DefaultPolicy with the variant params timeout,
// max_attempts, retry_base_delay, retry_max_delay and max_retry_after applied.
func PolicyFromParams(params map[string]string) (Policy, error) {
	p := DefaultPolicy()
	for name, dst := range map[string]*time.Duration{
		"timeout": &p.CallTimeout, "retry_base_delay": &p.BaseDelay, "retry_max_delay": &p.MaxDelay, "max_retry_after": &p.MaxRetryAfter,
	} {
		if v, ok := params[name]; ok && v != "" {
			d, err := param.ParseDuration(v)
			if err != nil {
				return Policy{}, fmt.Errorf("param %s: %w", name, err)
			}
			*dst = d
		}
	}
	if v, ok := params["max_attempts"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Policy{}, fmt.Errorf("param max_attempts: %q is not a positive number", v)
		}
		p.MaxAttempts = n
	}
	return p, nil
}

// Do calls call until it succeeds, fails with an error that is not worth
// retrying, or runs out of attempts or time. classify turns the SDK's error
// into an *Error; attemptTimedOut tells it whether the attempt's own deadline
// (not the caller's) expired. The returned error is always an *Error.
func Do[T any](ctx context.Context, p Policy, provider string, classify func(err error, attemptTimedOut bool) *Error, call func(ctx context.Context) (T, error)) (T, error) {
	p.defaults()
	var zero T
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.CallTimeout)
		v, err := call(actx)
		attemptTimedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if err == nil {
			return v, nil
		}
		if ctx.Err() != nil {
			kind := ErrCanceled
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				kind = ErrTimeout
			}
			return zero, &Error{Provider: provider, Kind: kind, Message: "the caller's deadline expired", Attempts: attempt}
		}
		e := classify(err, attemptTimedOut)
		e.Attempts = attempt
		if !e.Retryable() || attempt >= p.MaxAttempts {
			return zero, e
		}
		delay := p.backoff(attempt)
		if e.RetryAfter > 0 {
			if e.RetryAfter > p.MaxRetryAfter {
				e.Message = fmt.Sprintf("%s (asked to retry after %s, longer than the %s this variant waits)", e.Message, e.RetryAfter.Round(time.Second), p.MaxRetryAfter)
				return zero, e
			}
			delay = e.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			e.Message = fmt.Sprintf("%s (the next attempt would start after the call's deadline)", e.Message)
			return zero, e
		}
		if p.Log != nil {
			p.Log.Warn("model call failed, retrying", "provider", provider, "attempt", attempt, "error", e.Error(), "delay", delay.String())
		}
		if err := p.Sleep(ctx, delay); err != nil {
			return zero, &Error{Provider: provider, Kind: ErrCanceled, Message: "cancelled while waiting to retry: " + e.Error(), Attempts: attempt}
		}
	}
}

func (p *Policy) defaults() {
	d := DefaultPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = d.MaxRetryAfter
	}
	if p.CallTimeout <= 0 {
		p.CallTimeout = d.CallTimeout
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
}

// backoff is BaseDelay·2^(attempt-1), capped, with ±20% jitter so that many
// workers rate-limited together do not retry together.
func (p *Policy) backoff(attempt int) time.Duration {
	d := p.BaseDelay << min(attempt-1, 20)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
