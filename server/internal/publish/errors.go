package publish

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/moosehq/moose/server/internal/fault"
)

// Permanent failures: retrying the same publish cannot succeed until someone
// changes the configuration, the repository or the change.
var (
	// ErrNoChanges: the worktree does not differ from the base commit, or
	// GitHub finds no commits between the base branch and the work order's branch.
	ErrNoChanges = fmt.Errorf("no changes to publish: %w", fault.ErrFailedPrecondition)
	// ErrUnauthorized: GitHub or the git remote rejected the credentials (bad,
	// expired or revoked token).
	ErrUnauthorized = fmt.Errorf("credentials rejected: %w", fault.ErrFailedPrecondition)
	// ErrForbidden: the credentials are valid but may not do this (missing
	// scope, protected branch, push denied).
	ErrForbidden = fmt.Errorf("permission denied: %w", fault.ErrFailedPrecondition)
	// ErrRepositoryNotFound: the repository does not exist or the token cannot
	// see it (GitHub answers 404 for private repositories it hides).
	ErrRepositoryNotFound = fmt.Errorf("repository not found: %w", fault.ErrFailedPrecondition)
	// ErrInvalidRepo: the project's repository URL names no owner/repo.
	ErrInvalidRepo = fmt.Errorf("not a GitHub repository URL: %w", fault.ErrFailedPrecondition)
	// ErrNoToken: a GitHub publisher was asked for without a token.
	ErrNoToken = fmt.Errorf("no GitHub token configured (set it or GITHUB_TOKEN): %w", fault.ErrFailedPrecondition)
	// ErrRejected: GitHub refused the request as invalid (a 422 other than the
	// ones the publisher knows how to recover from).
	ErrRejected = fmt.Errorf("request rejected: %w", fault.ErrFailedPrecondition)
)

// RateLimitError says GitHub rate-limited the publisher for longer than it was
// willing to wait. It is retryable (it unwraps to fault.ErrUnavailable); Until
// says when trying again makes sense.
type RateLimitError struct {
	Secondary bool
	Until     time.Time
}

func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	return fmt.Sprintf("github %s rate limit exceeded until %s", kind, e.Until.UTC().Format(time.RFC3339))
}

func (e *RateLimitError) Unwrap() error { return fault.ErrUnavailable }

// unavailable marks err as retryable, keeping its chain.
func unavailable(err error) error {
	if errors.Is(err, fault.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", fault.ErrUnavailable, err)
}

// redactor removes secrets from text. A nil redactor removes nothing.
type redactor struct{ secrets []string }

func newRedactor(token string) *redactor {
	if token == "" {
		return &redactor{}
	}
	return &redactor{secrets: []string{
		token,
		base64.StdEncoding.EncodeToString([]byte(basicUser + ":" + token)),
		base64.URLEncoding.EncodeToString([]byte(basicUser + ":" + token)),
	}}
}

const redactedMark = "[REDACTED]"

func (r *redactor) text(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, redactedMark)
	}
	return s
}

// err wraps e so that its text is redacted while errors.Is and errors.As still
// see the whole chain.
func (r *redactor) err(e error) error {
	if e == nil || r == nil || len(r.secrets) == 0 {
		return e
	}
	var already *redactedError
	if errors.As(e, &already) {
		return e
	}
	return &redactedError{err: e, r: r}
}

type redactedError struct {
	err error
	r   *redactor
}

func (e *redactedError) Error() string { return e.r.text(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }

// Secret holds a credential. It prints, formats, logs and marshals as
// [REDACTED], so a configuration struct holding one can be logged safely.
type Secret string

func (s Secret) String() string   { return mark(s) }
func (s Secret) GoString() string { return mark(s) }

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(mark(s)) }

// MarshalJSON keeps the secret out of JSON dumps of a configuration.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + mark(s) + `"`), nil }

// Reveal returns the credential itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

func mark(s Secret) string {
	if s == "" {
		return ""
	}
	return redactedMark
}
