package sdk

import (
	"context"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
)

// Wire types, aliased so a plugin needs only this package.
type (
	ProposeRequest   = pluginv1.ProposeRequest
	ProposeResponse  = pluginv1.ProposeResponse
	ValidateRequest  = pluginv1.ValidateRequest
	ValidateResponse = pluginv1.ValidateResponse
	WorkOrder        = pluginv1.WorkOrder
	ProjectContext   = pluginv1.ProjectContext
	VariantConfig    = pluginv1.VariantConfig
	Edit             = pluginv1.Edit
	File             = pluginv1.File
	Finding          = pluginv1.Finding
	DimensionScore   = pluginv1.DimensionScore
	TestCounts       = pluginv1.TestCounts
	TestResult       = pluginv1.TestResult
)

// Info is what a plugin says about itself. moosed refuses to register a binary
// whose name or version differ from the registration, and pins each version to
// one binary's sha256: a rebuilt binary needs a new version, or (while
// developing) an explicit re-pin with moosectl plugin reload --rehash.
type Info struct {
	Name        string
	Version     string
	Description string
	// EditFormats a proposer can produce: "whole", "diff", "search_replace".
	EditFormats []string
	// Capabilities are free-form flags ("refinement", "coverage").
	Capabilities []string
	// Params are the variant params a proposer reads (package param documents
	// the shared ones). moosed refuses a variant naming any other; leave it
	// empty and moosed checks none.
	Params []string
}

// Proposer is implemented by a proposer plugin. Propose may be called
// concurrently; honour ctx, which carries the host's per-call deadline.
type Proposer interface {
	Info() Info
	Propose(ctx context.Context, req *ProposeRequest) (*ProposeResponse, error)
}

// Validator is implemented by a validator plugin. Validate may be called
// concurrently; honour ctx, which carries the host's per-call deadline.
type Validator interface {
	Info() Info
	Validate(ctx context.Context, req *ValidateRequest) (*ValidateResponse, error)
}

func (i Info) proto(kind pluginv1.PluginKind) *pluginv1.PluginInfo {
	return &pluginv1.PluginInfo{
		Kind:         kind,
		Name:         i.Name,
		Version:      i.Version,
		Description:  i.Description,
		EditFormats:  i.EditFormats,
		Capabilities: i.Capabilities,
		Params:       i.Params,
	}
}

type proposerServer struct {
	pluginv1.UnimplementedProposerServiceServer
	impl Proposer
}

func (s *proposerServer) GetInfo(context.Context, *pluginv1.ProposerServiceGetInfoRequest) (*pluginv1.ProposerServiceGetInfoResponse, error) {
	return &pluginv1.ProposerServiceGetInfoResponse{Info: s.impl.Info().proto(pluginv1.PluginKind_PLUGIN_KIND_PROPOSER)}, nil
}

func (s *proposerServer) Propose(ctx context.Context, req *pluginv1.ProposeRequest) (*pluginv1.ProposeResponse, error) {
	return s.impl.Propose(ctx, req)
}

type validatorServer struct {
	pluginv1.UnimplementedValidatorServiceServer
	impl Validator
}

func (s *validatorServer) GetInfo(context.Context, *pluginv1.ValidatorServiceGetInfoRequest) (*pluginv1.ValidatorServiceGetInfoResponse, error) {
	return &pluginv1.ValidatorServiceGetInfoResponse{Info: s.impl.Info().proto(pluginv1.PluginKind_PLUGIN_KIND_VALIDATOR)}, nil
}

func (s *validatorServer) Validate(ctx context.Context, req *pluginv1.ValidateRequest) (*pluginv1.ValidateResponse, error) {
	return s.impl.Validate(ctx, req)
}
