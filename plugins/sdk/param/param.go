// Package param is the one description of the variant params Moose documents,
// shared by moosed (which checks a variant's params when it is created) and by
// the model-backed plugins (which parse them into the provider request), so a
// param accepted at creation is a param the plugin understands.
//
// Params are strings (VariantConfig.params). A plugin says which names it
// reads in its Info (sdk.Info.Params); moosed refuses a variant that names any
// other for that plugin, and refuses a documented param whose value does not
// parse, each as an InvalidArgument field violation "params.<name>". A plugin
// that lists no params gets no check: its params are its own business.
//
// # Forwarded to the model
//
//	reasoning_effort  none, minimal, low, medium, high, xhigh or max (OpenAI's
//	                  reasoning_effort; Anthropic's output_config.effort)
//	seed              an integer (OpenAI and compatible servers)
//	top_p             a number from 0 to 1
//	top_k             a positive integer (Anthropic)
//	stop              one stop sequence, or a JSON array of them
//	                  (OpenAI's stop, Anthropic's stop_sequences)
//	extra             a JSON object merged into the request body as is: the
//	                  passthrough for any other provider or server field
//	                  ({"top_k": 20, "repetition_penalty": 1.05} for vLLM,
//	                  {"prompt_cache_key": "proj-1"} for OpenAI); it may not
//	                  set model, messages, system or stream
//
// # Read by the plugin itself
//
//	api_key_env       the variable holding the API key
//	timeout, max_attempts, retry_base_delay, retry_max_delay, max_retry_after
//	                  per-attempt deadline and retries (Go durations; a positive integer)
//	temperature       "omit" leaves the variant's temperature out of the request
//	max_tokens_field  max_tokens or max_completion_tokens (OpenAI)
//	prompt_cache      "off" sends no cache_control breakpoints (Anthropic)
package param

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Documented param names.
const (
	APIKeyEnv       = "api_key_env"
	Timeout         = "timeout"
	MaxAttempts     = "max_attempts"
	RetryBaseDelay  = "retry_base_delay"
	RetryMaxDelay   = "retry_max_delay"
	MaxRetryAfter   = "max_retry_after"
	Temperature     = "temperature"
	MaxTokensField  = "max_tokens_field"
	PromptCache     = "prompt_cache"
	ReasoningEffort = "reasoning_effort"
	Seed            = "seed"
	TopP            = "top_p"
	TopK            = "top_k"
	Stop            = "stop"
	Extra           = "extra"
)

// Retry is the params every provider plugin reads for its key and retries.
var Retry = []string{APIKeyEnv, Timeout, MaxAttempts, RetryBaseDelay, RetryMaxDelay, MaxRetryAfter}

// ReasoningEfforts are the accepted reasoning_effort values, across providers.
var ReasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// reservedExtra are request fields extra may not set: the plugin owns them.
var reservedExtra = []string{"model", "messages", "system", "stream"}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Check reports whether value is well formed for the documented param name.
// A name this package does not document passes: its plugin checks it.
func Check(name, value string) error {
	var err error
	switch name {
	case APIKeyEnv:
		if !envName.MatchString(value) {
			err = fmt.Errorf("%q is not an environment variable name", value)
		}
	case Timeout, RetryBaseDelay, RetryMaxDelay, MaxRetryAfter:
		_, err = ParseDuration(value)
	case MaxAttempts:
		if n, perr := strconv.Atoi(value); perr != nil || n < 1 {
			err = fmt.Errorf("%q is not a positive integer", value)
		}
	case Temperature:
		if value != "omit" {
			err = fmt.Errorf(`must be "omit" (set the temperature itself in the variant's temperature field)`)
		}
	case MaxTokensField:
		if value != "max_tokens" && value != "max_completion_tokens" {
			err = fmt.Errorf("must be max_tokens or max_completion_tokens")
		}
	case PromptCache:
		if value != "off" && value != "on" {
			err = fmt.Errorf("must be on or off")
		}
	case ReasoningEffort:
		_, err = ParseReasoningEffort(value)
	case Seed:
		_, err = ParseSeed(value)
	case TopP:
		_, err = ParseTopP(value)
	case TopK:
		_, err = ParseTopK(value)
	case Stop:
		_, err = ParseStop(value)
	case Extra:
		_, err = ParseExtra(value)
	}
	return err
}

// ParseDuration parses a non-negative Go duration ("90s", "2m").
func ParseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration", v)
	}
	return d, nil
}

// ParseReasoningEffort returns v when it is one of ReasoningEfforts.
func ParseReasoningEffort(v string) (string, error) {
	if !slices.Contains(ReasoningEfforts, v) {
		return "", fmt.Errorf("%q is not one of %s", v, strings.Join(ReasoningEfforts, ", "))
	}
	return v, nil
}

// ParseSeed parses an integer seed.
func ParseSeed(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

// ParseTopP parses a nucleus-sampling probability, 0 to 1.
func ParseTopP(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is not a number from 0 to 1", v)
	}
	return f, nil
}

// ParseTopK parses a positive integer.
func ParseTopK(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a positive integer", v)
	}
	return n, nil
}

// ParseStop parses one stop sequence, or a JSON array of non-empty ones.
func ParseStop(v string) ([]string, error) {
	if !strings.HasPrefix(strings.TrimSpace(v), "[") {
		if v == "" {
			return nil, fmt.Errorf("is empty")
		}
		return []string{v}, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("is not a JSON array of strings: %v", err)
	}
	if len(out) == 0 || slices.Contains(out, "") {
		return nil, fmt.Errorf("must name at least one stop sequence, none empty")
	}
	return out, nil
}

// ParseExtra parses the passthrough object. Numbers keep their JSON text, so
// a large integer reaches the provider as written.
func ParseExtra(v string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil || out == nil {
		return nil, fmt.Errorf("is not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("is not a single JSON object")
	}
	for _, k := range reservedExtra {
		if _, ok := out[k]; ok {
			return nil, fmt.Errorf("may not set %q: the plugin sets it", k)
		}
	}
	return out, nil
}
