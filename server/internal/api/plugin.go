package api

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pluginhost"
)

// PluginHandler serves moose.v1.PluginService over the plugin host's catalog.
type PluginHandler struct {
	moosev1.UnimplementedPluginServiceServer
	host *pluginhost.Host
	log  *slog.Logger
}

// NewPluginHandler returns a PluginHandler over host.
func NewPluginHandler(host *pluginhost.Host, log *slog.Logger) *PluginHandler {
	return &PluginHandler{host: host, log: log}
}

func (h *PluginHandler) RegisterPlugin(ctx context.Context, req *moosev1.RegisterPluginRequest) (*moosev1.RegisterPluginResponse, error) {
	kind, err := pluginhost.ParseKind(req.GetKind())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	p, err := h.host.Register(ctx, pluginhost.Registration{
		Kind:            kind,
		Name:            req.GetName(),
		Version:         req.GetVersion(),
		Command:         req.GetCommand(),
		Args:            req.GetArgs(),
		SHA256:          req.GetSha256(),
		Env:             req.GetEnvAllowlist(),
		AllowedBaseURLs: req.GetAllowedBaseUrls(),
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.RegisterPluginResponse{Plugin: pluginToProto(p)}, nil
}

func (h *PluginHandler) ListPlugins(ctx context.Context, req *moosev1.ListPluginsRequest) (*moosev1.ListPluginsResponse, error) {
	var kind pluginhost.Kind
	if req.GetKind() != "" {
		k, err := pluginhost.ParseKind(req.GetKind())
		if err != nil {
			return nil, StatusFromError(ctx, h.log, err)
		}
		kind = k
	}
	resp := &moosev1.ListPluginsResponse{}
	for _, p := range h.host.List(kind) {
		resp.Plugins = append(resp.Plugins, pluginToProto(p))
	}
	return resp, nil
}

func (h *PluginHandler) GetPlugin(ctx context.Context, req *moosev1.GetPluginRequest) (*moosev1.GetPluginResponse, error) {
	kind, err := pluginhost.ParseKind(req.GetKind())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	p, err := h.host.Get(kind, req.GetName(), req.GetVersion())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.GetPluginResponse{Plugin: pluginToProto(p)}, nil
}

func (h *PluginHandler) ReloadPlugin(ctx context.Context, req *moosev1.ReloadPluginRequest) (*moosev1.ReloadPluginResponse, error) {
	kind, err := pluginhost.ParseKind(req.GetKind())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	var p pluginhost.Plugin
	switch {
	case req.GetRehash():
		p, err = h.host.Rehash(ctx, kind, req.GetName(), req.GetVersion(), req.GetSha256())
	case req.GetSha256() != "":
		err = fault.Invalid("sha256", "only with rehash: a plain reload starts the binary pinned at registration")
	default:
		p, err = h.host.Reload(ctx, kind, req.GetName(), req.GetVersion())
	}
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.ReloadPluginResponse{Plugin: pluginToProto(p)}, nil
}

func (h *PluginHandler) UnregisterPlugin(ctx context.Context, req *moosev1.UnregisterPluginRequest) (*moosev1.UnregisterPluginResponse, error) {
	kind, err := pluginhost.ParseKind(req.GetKind())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	if err := h.host.Unregister(ctx, kind, req.GetName(), req.GetVersion()); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.UnregisterPluginResponse{}, nil
}

func pluginToProto(p pluginhost.Plugin) *moosev1.Plugin {
	return &moosev1.Plugin{
		Kind:            string(p.Kind),
		Name:            p.Name,
		Version:         p.Version,
		Command:         p.Command,
		Path:            p.Path,
		Args:            p.Args,
		Sha256:          p.SHA256,
		EnvAllowlist:    p.Env,
		AllowedBaseUrls: p.AllowedBaseURLs,
		Builtin:         p.Builtin,
		State:           string(p.State),
		Pid:             int32(p.PID),
		Restarts:        int32(p.Restarts),
		LastError:       p.LastError,
		Description:     p.Info.Description,
		EditFormats:     p.Info.EditFormats,
		Capabilities:    p.Info.Capabilities,
		Params:          p.Info.Params,
		CreateTime:      timestamppb.New(p.CreatedAt),
	}
}
