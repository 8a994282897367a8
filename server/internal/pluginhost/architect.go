package pluginhost

import (
	"context"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// DefaultBuiltinEnv is Config.BuiltinEnv when unset: each built-in
// model-backed plugin receives its provider's API key and nothing else.
func DefaultBuiltinEnv() map[string][]string {
	return map[string][]string{
		"openai":              {"OPENAI_API_KEY"},
		"openai-architect":    {"OPENAI_API_KEY"},
		"anthropic":           {"ANTHROPIC_API_KEY"},
		"anthropic-architect": {"ANTHROPIC_API_KEY"},
	}
}

// Decompose asks an architect plugin to split a spec into work orders. An
// empty version picks the most recently registered version of name. The call
// is bounded by Config.ProposeTimeout as well as ctx: an architect is one
// model call, like a proposer's.
func (h *Host) Decompose(ctx context.Context, name, version string, req *pluginv1.DecomposeRequest) (*pluginv1.DecomposeResponse, error) {
	var resp *pluginv1.DecomposeResponse
	err := h.call(ctx, KindArchitect, name, version, "Decompose", h.cfg.ProposeTimeout, func(ctx context.Context, reg Registration, p *proc) error {
		var err error
		resp, err = p.architect.Decompose(ctx, withArchitectCredentials(req, h.credentials(reg, req.GetConfig().GetBaseUrl())))
		return err
	})
	return resp, err
}
