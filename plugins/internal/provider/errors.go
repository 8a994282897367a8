package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FinishLength is the finish reason of a response cut off by the token limit.
const FinishLength = "length"

// Sentinel errors: every *Error unwraps to exactly one.
var (
	ErrBadKey         = errors.New("the provider rejected the API key")
	ErrNoKey          = errors.New("no API key configured")
	ErrUnknownModel   = errors.New("unknown model")
	ErrQuota          = errors.New("quota or credit exhausted")
	ErrContextTooLong = errors.New("prompt exceeds the model's context window")
	ErrRateLimited    = errors.New("rate limited")
	ErrUnavailable    = errors.New("provider unavailable")
	ErrTimeout        = errors.New("provider call timed out")
	ErrBadRequest     = errors.New("provider refused the request")
	ErrCanceled       = errors.New("call cancelled")
)

// Error is a classified provider failure.
type Error struct {
	// Provider is "openai", "anthropic", ...
	Provider string
	// Kind is the sentinel this error unwraps to.
	Kind error
	// Status is the HTTP status (0 for transport failures).
	Status int
	// Code is the provider's error type or code ("rate_limit_error", "invalid_api_key").
	Code string
	// Message is the provider's message, with secrets redacted.
	Message string
	// RetryAfter is what the provider asked us to wait (0: not said).
	RetryAfter time.Duration
	// Attempts made before giving up (set by Do).
	Attempts int
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	switch {
	case e.Status != 0 && e.Code != "":
		fmt.Fprintf(&b, " (HTTP %d, %s)", e.Status, e.Code)
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	case e.Code != "":
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (gave up after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

// Retryable reports whether another attempt may succeed.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case ErrRateLimited, ErrUnavailable, ErrTimeout:
		return true
	}
	return false
}

// GRPCStatus is the status a plugin returns for e. moosed treats Unavailable
// and ResourceExhausted as "provider unavailable" (fallback variant); the
// other codes fail the call.
func (e *Error) GRPCStatus() *status.Status {
	c := codes.Unknown
	switch e.Kind {
	case ErrBadKey, ErrNoKey:
		c = codes.Unauthenticated
	case ErrUnknownModel:
		c = codes.NotFound
	case ErrQuota:
		c = codes.ResourceExhausted
	case ErrContextTooLong:
		c = codes.OutOfRange
	case ErrRateLimited, ErrUnavailable, ErrTimeout:
		c = codes.Unavailable
	case ErrBadRequest:
		c = codes.InvalidArgument
	case ErrCanceled:
		c = codes.Canceled
	}
	return status.New(c, e.Error())
}

// Classify maps an HTTP error answer to an *Error. errType and errCode are
// the fields of the provider's error object (OpenAI: error.type and
// error.code; Anthropic: error.type), msg its message.
func Classify(provider string, statusCode int, header http.Header, errType, errCode, msg string) *Error {
	e := &Error{Provider: provider, Status: statusCode, Code: firstNonEmpty(errCode, errType), Message: Redact(msg), RetryAfter: RetryAfter(header)}
	lower := strings.ToLower(errType + " " + errCode + " " + msg)
	has := func(s ...string) bool {
		for _, v := range s {
			if strings.Contains(lower, v) {
				return true
			}
		}
		return false
	}
	switch {
	case has("context_length_exceeded", "prompt is too long", "maximum context length", "context window", "too many tokens"):
		e.Kind = ErrContextTooLong
	case has("insufficient_quota", "billing", "credit balance", "exceeded your current quota", "quota"):
		e.Kind = ErrQuota
	case statusCode == http.StatusUnauthorized || statusCode == http.StatusForbidden || has("invalid_api_key", "authentication_error", "permission_error"):
		e.Kind = ErrBadKey
	case statusCode == http.StatusNotFound || has("model_not_found", "does not exist"):
		e.Kind = ErrUnknownModel
	case statusCode == http.StatusTooManyRequests || has("rate_limit"):
		e.Kind = ErrRateLimited
	case statusCode == http.StatusRequestTimeout:
		e.Kind = ErrTimeout
	case statusCode == http.StatusConflict || statusCode >= 500 || has("overloaded", "api_error", "server_error"):
		e.Kind = ErrUnavailable
	default:
		e.Kind = ErrBadRequest
	}
	return e
}

// ErrorBody extracts type, code and message from a provider's JSON error body:
// {"error": {"type", "code", "message"}} (OpenAI, Anthropic, vLLM) or a flat
// {"error": "message"} / {"message": "..."} (Ollama, TGI, llama.cpp).
func ErrorBody(raw string) (errType, errCode, msg string) {
	var nested struct {
		Error struct {
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(raw), &nested) == nil && (nested.Error.Message != "" || nested.Error.Type != "") {
		code := strings.Trim(string(nested.Error.Code), `"`)
		if code == "null" {
			code = ""
		}
		return nested.Error.Type, code, nested.Error.Message
	}
	var flat struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(raw), &flat) == nil {
		return "", "", firstNonEmpty(flat.Error, flat.Message)
	}
	return "", "", strings.TrimSpace(raw)
}

// RetryAfter reads retry-after-ms or Retry-After (seconds or an HTTP date).
func RetryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

var keyShaped = regexp.MustCompile(`\b(sk-[A-Za-z0-9_\-*]{4,}|sk-ant-[A-Za-z0-9_\-*]{4,}|Bearer\s+\S+)`)

// Redact removes secrets from a message: the given values, and anything that
// looks like an API key (providers echo a masked key in 401 answers).
func Redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return keyShaped.ReplaceAllString(msg, "[redacted]")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
