package provider

import (
	"github.com/moosehq/moose/plugins/sdk/param"
)

// Sampling is the variant params a plugin forwards to the model, parsed
// (plugins/sdk/param documents them). Zero fields were not set.
type Sampling struct {
	ReasoningEffort string
	Seed            *int64
	TopP            *float64
	TopK            *int64
	Stop            []string
	// Extra is merged into the request body as is (param extra).
	Extra map[string]any
}

// SamplingFromParams parses the forwarded params. A value that does not parse
// is ErrBadRequest: moosed refuses such a variant at creation, so only a
// variant stored before the check gets here, and it should fail loudly rather
// than run with a setting silently dropped.
func SamplingFromParams(provider string, params map[string]string) (Sampling, error) {
	var s Sampling
	bad := func(name string, err error) (Sampling, error) {
		return Sampling{}, &Error{Provider: provider, Kind: ErrBadRequest, Message: "param " + name + ": " + err.Error()}
	}
	var err error
	if v := params[param.ReasoningEffort]; v != "" {
		if s.ReasoningEffort, err = param.ParseReasoningEffort(v); err != nil {
			return bad(param.ReasoningEffort, err)
		}
	}
	if v := params[param.Seed]; v != "" {
		n, err := param.ParseSeed(v)
		if err != nil {
			return bad(param.Seed, err)
		}
		s.Seed = &n
	}
	if v := params[param.TopP]; v != "" {
		f, err := param.ParseTopP(v)
		if err != nil {
			return bad(param.TopP, err)
		}
		s.TopP = &f
	}
	if v := params[param.TopK]; v != "" {
		n, err := param.ParseTopK(v)
		if err != nil {
			return bad(param.TopK, err)
		}
		s.TopK = &n
	}
	if v := params[param.Stop]; v != "" {
		if s.Stop, err = param.ParseStop(v); err != nil {
			return bad(param.Stop, err)
		}
	}
	if v := params[param.Extra]; v != "" {
		if s.Extra, err = param.ParseExtra(v); err != nil {
			return bad(param.Extra, err)
		}
	}
	return s, nil
}
