package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
)

// Request is one model call: a system and a user message and the limits.
type Request struct {
	Model       string
	BaseURL     string
	System      string
	User        string
	Temperature float64
	// MaxTokens bounds the answer (0: the plugin's default).
	MaxTokens int
	Params    map[string]string
}

// Completion is a model's answer.
type Completion struct {
	Text         string
	Model        string
	InputTokens  int64
	OutputTokens int64
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
			Message: fmt.Sprintf("%s is not set in the plugin's environment: add it to the plugin registration's env allowlist (moosectl plugin register ... --env %s)", name, name)}
	}
	return key, nil
}
