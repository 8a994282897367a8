// Package provider is what the model-backed plugins (openai, anthropic and
// their architects) share around one model call: retries, deadlines, error
// classification and API keys. The SDK clients themselves are created with
// their own retries off, so that this package alone decides what is retried.
//
// # Retries
//
// [Do] runs a call up to Policy.MaxAttempts times. 429 (rate limited), 408,
// 409, 5xx (Anthropic's 529 "overloaded" included), connection failures and
// attempts that overran Policy.CallTimeout are retried with exponential
// backoff and jitter. A Retry-After (or retry-after-ms) header is honoured
// exactly; one longer than Policy.MaxRetryAfter, or longer than the time the
// caller's deadline leaves, ends the retries at once with the rate-limit error
// instead of waiting for nothing. Everything else fails at once.
//
// # Errors
//
// Failures are *Error values that unwrap to a sentinel: [ErrBadKey],
// [ErrUnknownModel], [ErrQuota], [ErrContextTooLong], [ErrRateLimited],
// [ErrUnavailable], [ErrTimeout], [ErrBadRequest], [ErrNoKey]. Each carries a
// gRPC status (GRPCStatus), so a plugin can return it from Propose as is and
// moosed sees the right code: rate limits, outages, timeouts (after retries)
// and exhausted quota are Unavailable or ResourceExhausted, which moosed
// treats as "provider unavailable" and answers by falling back to the tier's
// fallback variant; a bad key, an unknown model, a too-long prompt or a bad
// request are configuration problems and fail the call. Messages never
// contain the API key: [Redact] removes it and anything shaped like one.
//
// # Truncated output
//
// A response cut off by the token limit is not an error here: the plugin
// returns it with finish_reason "length" (OpenAI's finish_reason "length",
// Anthropic's stop_reason "max_tokens") and its real token counts, because
// the tokens were paid for and must be costed. The host must treat
// finish_reason "length" as a failed attempt and never apply it as if it
// were complete. [FinishLength] is that value.
//
// # Variant params
//
// Plugins read these from VariantConfig.params (or ArchitectConfig.params);
// plugins/sdk/param documents them all and the clients' Params lists name
// the ones each reads (the plugins declare them, and moosed refuses others):
//
//	api_key_env       name of the variable holding the API key (default per plugin)
//	timeout           per-attempt deadline, a Go duration (default 3m)
//	max_attempts      attempts including the first (default 4)
//	retry_base_delay  first backoff delay (default 1s)
//	retry_max_delay   backoff cap (default 30s)
//	max_retry_after   longest Retry-After worth waiting for (default 2m)
//	reasoning_effort, seed, top_p, top_k, stop, extra
//	                  forwarded to the model ([SamplingFromParams])
package provider
