package sdk

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// ProtocolVersion is the plugin protocol this SDK speaks. It changes only with
// a wire-incompatible contract, which proto/moose/plugin/v1 promises never to have.
const ProtocolVersion = 1

// MaxMessageSize bounds a single gRPC message in either direction. Project
// context (file contents) easily exceeds gRPC's 4 MiB default.
const MaxMessageSize = 64 << 20

// Plugin set keys, one per kind.
const (
	KindProposer  = "proposer"
	KindValidator = "validator"
	KindArchitect = "architect"
)

// Handshake is the go-plugin handshake shared by moosed and every plugin. The
// cookie is not a secret: it only stops a plugin binary that is run by hand from
// waiting forever for a host.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "MOOSE_PLUGIN_COOKIE",
	MagicCookieValue: "a5c1e0b2-moose-plugin-v1",
}

// HostPlugins is the versioned plugin set a host offers: every kind, so a host
// can dispense the kind it expects and detect a binary of another kind.
func HostPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {
			KindProposer:  &proposerPlugin{},
			KindValidator: &validatorPlugin{},
			KindArchitect: &architectPlugin{},
		},
	}
}

// ClientConfig returns the go-plugin client settings every host must use:
// handshake, versioned plugins, gRPC only, automatic mTLS, no inherited
// environment, and 64 MiB messages. The caller sets Cmd (or RunnerFunc),
// SecureConfig, Stderr and Logger.
func ClientConfig() *plugin.ClientConfig {
	return &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: HostPlugins(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(
				grpc.MaxCallRecvMsgSize(MaxMessageSize),
				grpc.MaxCallSendMsgSize(MaxMessageSize),
			),
		},
	}
}

// proposerPlugin is the go-plugin glue for proposers. On the host side it has
// no implementation and hands out the generated gRPC client.
type proposerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Proposer
}

func (p *proposerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return fmt.Errorf("serve proposer: no implementation")
	}
	pluginv1.RegisterProposerServiceServer(s, &proposerServer{impl: p.impl})
	return nil
}

func (p *proposerPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewProposerServiceClient(c), nil
}

// validatorPlugin is the go-plugin glue for validators.
type validatorPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Validator
}

func (p *validatorPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return fmt.Errorf("serve validator: no implementation")
	}
	pluginv1.RegisterValidatorServiceServer(s, &validatorServer{impl: p.impl})
	return nil
}

func (p *validatorPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewValidatorServiceClient(c), nil
}
