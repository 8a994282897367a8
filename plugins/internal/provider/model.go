package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
)

// Request is one model call: a system and a user message and the limits.
type Request struct {
	Model   string
	BaseURL string
	System  string
	User    string
	// UserParts is User cut at the prompt's cache breakpoints (see package
	// prompt); empty means User is one part. Every part but the last ends a
	// stable prefix.
	UserParts   []string
	Temperature float64
	// MaxTokens bounds the answer (0: the plugin's default).
	MaxTokens int
	Params    map[string]string
	// Credentials are the secrets moosed released for this call (the
	// registration's env allowlist, only for an allowed base URL).
	Credentials map[string]string
}

// Lookup reads a secret from the call's credentials, then from fallback (the
// plugin's environment; nil: none).
func (r Request) Lookup(fallback func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := r.Credentials[name]; ok && v != "" {
			return v, true
		}
		if fallback == nil {
			fallback = os.LookupEnv
		}
		return fallback(name)
	}
}

// Completion is a model's answer.
type Completion struct {
	Text  string
	Model string
	// InputTokens counts every prompt token, cache reads and writes included.
	InputTokens int64
	// CacheReadTokens and CacheWriteTokens are the parts of InputTokens read
	// from and written to the provider's prompt cache: they are priced at
	// their own rates, not the input price.
	CacheReadTokens  int64
	CacheWriteTokens int64
	OutputTokens     int64
	// FinishReason is normalised: "stop", FinishLength, "content_filter", or
	// the provider's own value.
	FinishReason string
}

// Completer makes one model call, retries and classification included.
type Completer interface {
	Complete(ctx context.Context, req Request) (Completion, error)
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// APIKey reads the API key from the variable named by params["api_key_env"],
// else defaultEnv. lookup is os.LookupEnv when nil. A missing key is
// ErrNoKey when required; the error names the variable, never a value.
func APIKey(provider string, lookup func(string) (string, bool), params map[string]string, defaultEnv string, required bool) (string, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	name := defaultEnv
	if v := params["api_key_env"]; v != "" {
		if !envName.MatchString(v) {
			return "", &Error{Provider: provider, Kind: ErrNoKey, Message: fmt.Sprintf("param api_key_env %q is not a variable name", v)}
		}
		name = v
	}
	key, ok := lookup(name)
	if (!ok || key == "") && required {
		return "", &Error{Provider: provider, Kind: ErrNoKey,
			Message: fmt.Sprintf("%s is not set for this call: moosed releases it only when it is in the plugin registration's env allowlist and the variant's base_url is among the registration's allowed_base_urls", name)}
	}
	return key, nil
}
