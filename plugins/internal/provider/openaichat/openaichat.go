// Package openaichat is a provider.Completer over the OpenAI chat completions
// API (github.com/openai/openai-go/v3). The base URL comes from each request,
// so the same client serves OpenAI and every server speaking its API: vLLM,
// Ollama, TGI, llama.cpp's server.
package openaichat

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/moosehq/moose/plugins/internal/provider"
	"github.com/moosehq/moose/plugins/sdk/param"
)

// Name is the provider name in errors and logs.
const Name = "openai"

// DefaultKeyEnv holds the API key unless params api_key_env names another variable.
const DefaultKeyEnv = "OPENAI_API_KEY"

// DefaultBaseURL is OpenAI's own endpoint.
const DefaultBaseURL = "https://api.openai.com/v1"

// Params are the variant params this client reads (plugins/sdk/param): the
// plugins built on it declare them, so moosed refuses any other.
var Params = slices.Concat(param.Retry, []string{param.Temperature, param.MaxTokensField,
	param.ReasoningEffort, param.Seed, param.TopP, param.Stop, param.Extra})

// Client calls chat completions. The zero value is ready: it reads keys with
// os.LookupEnv and uses http.DefaultClient's transport.
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
	base := strings.TrimRight(req.BaseURL, "/")
	official := base == "" || strings.Contains(base, "api.openai.com")
	if base == "" {
		base = DefaultBaseURL
	}
	// Local servers (vLLM, Ollama, llama.cpp) usually need no key.
	key, err := provider.APIKey(Name, req.Lookup(c.LookupEnv), req.Params, DefaultKeyEnv, official)
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
	opts := []option.RequestOption{
		option.WithBaseURL(base + "/"),
		option.WithMaxRetries(0), // provider.Do retries
	}
	if key == "" {
		key = "none" // the SDK insists on a key; local servers ignore it
	}
	opts = append(opts, option.WithAPIKey(key))
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	client := openai.NewClient(opts...)

	params := openai.ChatCompletionNewParams{
		Model: req.Model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(req.System),
			openai.UserMessage(req.User),
		},
	}
	if req.Params["temperature"] != "omit" {
		params.Temperature = openai.Float(req.Temperature)
	}
	if req.MaxTokens > 0 {
		field := req.Params["max_tokens_field"]
		if field == "" {
			field = "max_tokens"
			if official {
				field = "max_completion_tokens"
			}
		}
		if field == "max_completion_tokens" {
			params.MaxCompletionTokens = openai.Int(int64(req.MaxTokens))
		} else {
			params.MaxTokens = openai.Int(int64(req.MaxTokens))
		}
	}
	applySampling(&params, sampling)
	resp, err := provider.Do(ctx, pol, Name, func(err error, timedOut bool) *provider.Error { return classify(err, timedOut, key) },
		func(ctx context.Context) (*openai.ChatCompletion, error) {
			return client.Chat.Completions.New(ctx, params)
		})
	if err != nil {
		return provider.Completion{}, err
	}
	if len(resp.Choices) == 0 {
		return provider.Completion{}, &provider.Error{Provider: Name, Kind: provider.ErrUnavailable, Message: "the answer has no choices"}
	}
	ch := resp.Choices[0]
	finish := ch.FinishReason
	if finish == "" {
		finish = "stop"
	}
	return provider.Completion{
		Text:  ch.Message.Content,
		Model: firstNonEmpty(resp.Model, req.Model),
		// prompt_tokens counts cached tokens too; cached_tokens (and, where a
		// server reports them, cache_write_tokens) say how many, so they are
		// priced at the cached rate instead of the full input price.
		InputTokens:      resp.Usage.PromptTokens,
		CacheReadTokens:  resp.Usage.PromptTokensDetails.CachedTokens,
		CacheWriteTokens: resp.Usage.PromptTokensDetails.CacheWriteTokens,
		OutputTokens:     resp.Usage.CompletionTokens,
		FinishReason:     finish,
	}, nil
}

// applySampling sets the forwarded params on the request. The SDK's typed
// fields carry the ones OpenAI documents; extra goes into the body as is, for
// fields the SDK does not know (vLLM's top_k, repetition_penalty, ...).
func applySampling(p *openai.ChatCompletionNewParams, s provider.Sampling) {
	if s.ReasoningEffort != "" {
		p.ReasoningEffort = shared.ReasoningEffort(s.ReasoningEffort)
	}
	if s.Seed != nil {
		p.Seed = openai.Int(*s.Seed)
	}
	if s.TopP != nil {
		p.TopP = openai.Float(*s.TopP)
	}
	switch len(s.Stop) {
	case 0:
	case 1:
		p.Stop = openai.ChatCompletionNewParamsStopUnion{OfString: openai.String(s.Stop[0])}
	default:
		p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: s.Stop}
	}
	if len(s.Extra) > 0 {
		p.SetExtraFields(s.Extra)
	}
}

func classify(err error, attemptTimedOut bool, key string) *provider.Error {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		typ, code, msg := provider.ErrorBody(apiErr.RawJSON())
		typ, code, msg = firstNonEmpty(typ, apiErr.Type), firstNonEmpty(code, apiErr.Code), firstNonEmpty(msg, apiErr.Message)
		var h http.Header
		if apiErr.Response != nil {
			h = apiErr.Response.Header
		}
		e := provider.Classify(Name, apiErr.StatusCode, h, typ, code, msg)
		e.Message = provider.Redact(e.Message, key)
		return e
	}
	return transport(err, attemptTimedOut, key)
}

// transport classifies an error that is not an HTTP answer.
func transport(err error, attemptTimedOut bool, key string) *provider.Error {
	msg := provider.Redact(err.Error(), key)
	var ne net.Error
	switch {
	case attemptTimedOut || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return &provider.Error{Provider: Name, Kind: provider.ErrTimeout, Message: "no answer within the per-call timeout"}
	case errors.Is(err, context.Canceled):
		return &provider.Error{Provider: Name, Kind: provider.ErrCanceled, Message: msg}
	}
	// Connection refused, reset, EOF, a body that is not JSON: the server
	// (or the proxy in front of it) is not answering properly.
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
