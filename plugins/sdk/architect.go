package sdk

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// Architect wire types, aliased so a plugin needs only this package.
type (
	DecomposeRequest  = pluginv1.DecomposeRequest
	DecomposeResponse = pluginv1.DecomposeResponse
	ArchitectConfig   = pluginv1.ArchitectConfig
)

// Architect is implemented by an architect plugin: it splits a spec document
// into work orders (title, description, acceptance criteria, complexity) that
// the host stores as pending for review. Decompose may be called concurrently;
// honour ctx, which carries the host's per-call deadline.
type Architect interface {
	Info() Info
	Decompose(ctx context.Context, req *DecomposeRequest) (*DecomposeResponse, error)
}

// ServeArchitect serves a until the host stops the process. Call it from main,
// and write nothing to stdout before it.
func ServeArchitect(a Architect) {
	serve(plugin.PluginSet{KindArchitect: &architectPlugin{impl: a}})
}

// architectPlugin is the go-plugin glue for architects.
type architectPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Architect
}

func (p *architectPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return fmt.Errorf("serve architect: no implementation")
	}
	pluginv1.RegisterArchitectServiceServer(s, &architectServer{impl: p.impl})
	return nil
}

func (p *architectPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewArchitectServiceClient(c), nil
}

type architectServer struct {
	pluginv1.UnimplementedArchitectServiceServer
	impl Architect
}

func (s *architectServer) GetInfo(context.Context, *pluginv1.ArchitectServiceGetInfoRequest) (*pluginv1.ArchitectServiceGetInfoResponse, error) {
	return &pluginv1.ArchitectServiceGetInfoResponse{Info: s.impl.Info().proto(pluginv1.PluginKind_PLUGIN_KIND_ARCHITECT)}, nil
}

func (s *architectServer) Decompose(ctx context.Context, req *pluginv1.DecomposeRequest) (*pluginv1.DecomposeResponse, error) {
	return s.impl.Decompose(ctx, req)
}
