// Package claude is a provider.Completer over Anthropic's messages API
// (github.com/anthropics/anthropic-sdk-go), for Claude models.
package claude

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/sdk/param"
)

// Name is the provider name in errors and logs.
const Name = "anthropic"

// DefaultKeyEnv holds the API key unless params api_key_env names another variable.
const DefaultKeyEnv = "ANTHROPIC_API_KEY"

// Params are the variant params this client reads (plugins/sdk/param): the
// plugins built on it declare them, so moosed refuses any other (seed, which
// the messages API does not take, included).
var Params = slices.Concat(param.Retry, []string{param.Temperature, param.PromptCache,
	param.ReasoningEffort, param.TopP, param.TopK, param.Stop, param.Extra})

// DefaultMaxTokens is sent when the variant sets no max_tokens: the messages
// API requires a limit.
const DefaultMaxTokens = 8192

// Client calls the messages API. The zero value is ready.
type Client struct {
	// LookupEnv reads the API key variable; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// HTTPClient sends the requests; nil is a default client.
	HTTPClient *http.Client
	// Policy returns the retry policy for a request's params; nil is provider.PolicyFromParams.
	Policy func(params map[string]string) (provider.Policy, error)
}

// Complete implements provider.Completer.
func (c *Client) Complete(ctx context.Context, req provider.Request) (provider.Completion, error) {
	key, err := provider.APIKey(Name, req.Lookup(c.LookupEnv), req.Params, DefaultKeyEnv, true)
	if err != nil {
		return provider.Completion{}, err
	}
	if req.Model == "" {
		return provider.Completion{}, &provider.Error{Provider: Name, Kind: provider.ErrUnknownModel, Message: "the variant names no model"}
	}
	policyOf := c.Policy
	if policyOf == nil {
		policyOf = provider.PolicyFromParams
	}
	pol, err := policyOf(req.Params)
	if err != nil {
		return provider.Completion{}, &provider.Error{Provider: Name, Kind: provider.ErrBadRequest, Message: err.Error()}
	}
	sampling, err := provider.SamplingFromParams(Name, req.Params)
	if err != nil {
		return provider.Completion{}, err
	}
	// Environment defaults off: the key, and nothing else, comes from us.
	opts := []option.RequestOption{option.WithoutEnvironmentDefaults(), option.WithAPIKey(key), option.WithMaxRetries(0)}
	if base := strings.TrimRight(req.BaseURL, "/"); base != "" {
		opts = append(opts, option.WithBaseURL(base+"/"))
	}
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	client := anthropic.NewClient(opts...)
	maxTokens := int64(req.MaxTokens)
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	params := anthropic.MessageNewParams{
		Model:     anthropic.Model(req.Model),
		MaxTokens: maxTokens,
	}
	params.System, params.Messages = cachedPrompt(req, req.Params[param.PromptCache] != "off")
	if req.Params["temperature"] != "omit" {
		params.Temperature = anthropic.Float(req.Temperature)
	}
	applySampling(&params, sampling)
	msg, err := provider.Do(ctx, pol, Name, func(err error, timedOut bool) *provider.Error { return classify(err, timedOut, key) },
		func(ctx context.Context) (*anthropic.Message, error) {
			return client.Messages.New(ctx, params)
		})
	if err != nil {
		return provider.Completion{}, err
	}
	var text strings.Builder
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	return provider.Completion{
		Text:  text.String(),
		Model: firstNonEmpty(string(msg.Model), req.Model),
		// The messages API counts cache reads and writes apart from
		// input_tokens; the contract's input_tokens includes them.
		InputTokens:      msg.Usage.InputTokens + msg.Usage.CacheCreationInputTokens + msg.Usage.CacheReadInputTokens,
		CacheReadTokens:  msg.Usage.CacheReadInputTokens,
		CacheWriteTokens: msg.Usage.CacheCreationInputTokens,
		OutputTokens:     msg.Usage.OutputTokens,
		FinishReason:     finishReason(msg.StopReason),
	}, nil
}

// cachedPrompt is the system prompt and the user message, with a
// cache_control breakpoint (ephemeral: five minutes, refreshed by each hit)
// after the system prompt and after every stable part of the user message:
// what the next call repeats (another work order of the project, the next
// cycle of this one) is then read from Anthropic's cache at a tenth of the
// input price instead of processed again; writing it costs a quarter more,
// once. A prefix shorter than the model's minimum (1,024 tokens for most) is
// not cached, and the mark costs nothing. Param prompt_cache=off sends none,
// for gateways that refuse the field.
func cachedPrompt(req provider.Request, cache bool) ([]anthropic.TextBlockParam, []anthropic.MessageParam) {
	mark := func(b *anthropic.TextBlockParam) {
		if cache {
			b.CacheControl = anthropic.NewCacheControlEphemeralParam()
		}
	}
	system := []anthropic.TextBlockParam{{Text: req.System}}
	mark(&system[0])
	parts := req.UserParts
	if len(parts) == 0 {
		parts = []string{req.User}
	}
	blocks := make([]anthropic.ContentBlockParamUnion, 0, len(parts))
	for i, p := range parts {
		b := anthropic.TextBlockParam{Text: p}
		if i < len(parts)-1 {
			mark(&b)
		}
		blocks = append(blocks, anthropic.ContentBlockParamUnion{OfText: &b})
	}
	return system, []anthropic.MessageParam{anthropic.NewUserMessage(blocks...)}
}

// applySampling sets the forwarded params on the request: reasoning_effort
// is the messages API's output_config.effort, stop its stop_sequences; extra
// goes into the body as is.
func applySampling(p *anthropic.MessageNewParams, s provider.Sampling) {
	if s.ReasoningEffort != "" {
		p.OutputConfig.Effort = anthropic.OutputConfigEffort(s.ReasoningEffort)
	}
	if s.TopP != nil {
		p.TopP = anthropic.Float(*s.TopP)
	}
	if s.TopK != nil {
		p.TopK = anthropic.Int(*s.TopK)
	}
	if len(s.Stop) > 0 {
		p.StopSequences = s.Stop
	}
	if len(s.Extra) > 0 {
		p.SetExtraFields(s.Extra)
	}
}

// finishReason maps stop_reason to the contract's finish_reason vocabulary.
func finishReason(r anthropic.StopReason) string {
	switch r {
	case anthropic.StopReasonEndTurn, anthropic.StopReasonStopSequence, "":
		return "stop"
	case anthropic.StopReasonMaxTokens, anthropic.StopReasonModelContextWindowExceeded:
		return provider.FinishLength
	case anthropic.StopReasonRefusal:
		return "content_filter"
	}
	return string(r)
}

func classify(err error, attemptTimedOut bool, key string) *provider.Error {
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		typ, code, msg := provider.ErrorBody(apiErr.RawJSON())
		var h http.Header
		status := apiErr.StatusCode
		if apiErr.Response != nil {
			h = apiErr.Response.Header
			status = apiErr.Response.StatusCode
		}
		e := provider.Classify(Name, status, h, firstNonEmpty(typ, string(apiErr.Type())), code, msg)
		e.Message = provider.Redact(e.Message, key)
		return e
	}
	msg := provider.Redact(err.Error(), key)
	var ne net.Error
	switch {
	case attemptTimedOut || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &provider.Error{Provider: Name, Kind: provider.ErrTimeout, Message: "no answer within the per-call timeout"}
	case errors.Is(err, context.Canceled):
		return &provider.Error{Provider: Name, Kind: provider.ErrCanceled, Message: msg}
	}
	return &provider.Error{Provider: Name, Kind: provider.ErrUnavailable, Message: msg}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
