package pluginhost

import (
	"net/url"
	"strings"

	"google.golang.org/protobuf/proto"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// DefaultBuiltinBaseURLs is Config.BuiltinBaseURLs when unset: each built-in
// model-backed plugin may send its key to its provider's official API only.
func DefaultBuiltinBaseURLs() map[string][]string {
	return map[string][]string{
		"openai":              {"https://api.openai.com/v1"},
		"openai-architect":    {"https://api.openai.com/v1"},
		"anthropic":           {"https://api.anthropic.com"},
		"anthropic-architect": {"https://api.anthropic.com"},
	}
}

// KeyAllowed reports whether the registration's keys may be sent to baseURL.
// An empty base URL is the plugin's own default endpoint, chosen by the
// binary the operator pinned, so it redirects nothing and is allowed.
// Otherwise baseURL must have the scheme and host of an allowed URL and a
// path under its path (at a '/' boundary).
func (r Registration) KeyAllowed(baseURL string) bool {
	if strings.TrimSpace(baseURL) == "" {
		return true
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || u.User != nil {
		return false
	}
	for _, a := range r.AllowedBaseURLs {
		au, err := url.Parse(a)
		if err != nil {
			continue
		}
		if !strings.EqualFold(u.Scheme, au.Scheme) || !strings.EqualFold(u.Host, au.Host) {
			continue
		}
		want := strings.TrimRight(au.Path, "/")
		got := strings.TrimRight(u.Path, "/")
		if got == want || strings.HasPrefix(got, want+"/") {
			return true
		}
	}
	return false
}

// credentials are the values of the registration's env allowlist released to
// one call: all of them when baseURL is allowed, none otherwise. They travel
// in the request (VariantConfig.credentials), never in the plugin's process
// environment, so a variant pointing elsewhere cannot make the plugin send them.
func (h *Host) credentials(reg Registration, baseURL string) map[string]string {
	if len(reg.Env) == 0 || !reg.KeyAllowed(baseURL) {
		return nil
	}
	out := map[string]string{}
	for _, name := range reg.Env {
		if v, ok := h.cfg.LookupEnv(name); ok && v != "" {
			out[name] = v
		}
	}
	return out
}

func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.RawQuery == "" && u.Fragment == ""
}

// withCredentials returns req with creds in its variant config, copying what
// it changes so the caller's request (which may be stored or logged) never
// holds a secret.
func withCredentials(req *pluginv1.ProposeRequest, creds map[string]string) *pluginv1.ProposeRequest {
	out := proto.CloneOf(req)
	if out.GetVariant() == nil {
		out.Variant = &pluginv1.VariantConfig{}
	}
	out.Variant.Credentials = creds
	return out
}

func withArchitectCredentials(req *pluginv1.DecomposeRequest, creds map[string]string) *pluginv1.DecomposeRequest {
	out := proto.CloneOf(req)
	if out.GetConfig() == nil {
		out.Config = &pluginv1.ArchitectConfig{}
	}
	out.Config.Credentials = creds
	return out
}
