package provider

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/internal/prompt"
	"github.com/moosehq/moose/plugins/sdk"
)

// Proposer is a model-backed sdk.Proposer: it renders the prompt, calls the
// model through a Completer and reports tokens, finish reason and prompt hash.
type Proposer struct {
	Meta sdk.Info
	LLM  Completer
	Log  *slog.Logger
}

// Info implements sdk.Proposer.
func (p *Proposer) Info() sdk.Info { return p.Meta }

// Propose implements sdk.Proposer. A truncated answer is returned with
// finish_reason "length" (see the package documentation), not as an error.
func (p *Proposer) Propose(ctx context.Context, req *sdk.ProposeRequest) (*sdk.ProposeResponse, error) {
	pr, err := prompt.Render(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	v := req.GetVariant()
	c, err := p.LLM.Complete(ctx, Request{
		Model: v.GetModel(), BaseURL: v.GetBaseUrl(), System: pr.System, User: pr.User, UserParts: pr.UserParts,
		Temperature: v.GetTemperature(), MaxTokens: int(v.GetMaxTokens()), Params: v.GetParams(),
		Credentials: v.GetCredentials(),
	})
	if err != nil {
		return nil, p.fail("propose", v.GetName(), err)
	}
	if c.FinishReason == FinishLength {
		p.log().Warn("model answer was cut off by the token limit", "variant", v.GetName(), "model", c.Model,
			"max_tokens", v.GetMaxTokens(), "output_tokens", c.OutputTokens)
	}
	return &sdk.ProposeResponse{
		Text: c.Text, Model: c.Model, InputTokens: c.InputTokens, OutputTokens: c.OutputTokens,
		CacheReadInputTokens: c.CacheReadTokens, CacheWriteInputTokens: c.CacheWriteTokens,
		FinishReason: c.FinishReason, PromptHash: pr.Hash,
	}, nil
}

// Architect is a model-backed sdk.Architect: it renders the architect prompt,
// calls the model and parses the JSON plan.
type Architect struct {
	Meta sdk.Info
	LLM  Completer
	Log  *slog.Logger
}

// Info implements sdk.Architect.
func (a *Architect) Info() sdk.Info { return a.Meta }

// Decompose implements sdk.Architect. A plan cut off by the token limit is an
// error (FailedPrecondition): half a JSON plan cannot be parsed, and a plan
// that parses by luck would silently miss the rest of the spec.
func (a *Architect) Decompose(ctx context.Context, req *sdk.DecomposeRequest) (*sdk.DecomposeResponse, error) {
	if req.GetSpec() == "" {
		return nil, status.Error(codes.InvalidArgument, "the spec is empty")
	}
	pr, err := prompt.RenderArchitect(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cfg := req.GetConfig()
	c, err := a.LLM.Complete(ctx, Request{
		Model: cfg.GetModel(), BaseURL: cfg.GetBaseUrl(), System: pr.System, User: pr.User, UserParts: pr.UserParts,
		Temperature: cfg.GetTemperature(), MaxTokens: int(cfg.GetMaxTokens()), Params: cfg.GetParams(),
		Credentials: cfg.GetCredentials(),
	})
	if err != nil {
		return nil, (&Proposer{Log: a.Log}).fail("decompose", req.GetSpecName(), err)
	}
	if c.FinishReason == FinishLength {
		return nil, status.Errorf(codes.FailedPrecondition,
			"the architect's answer was cut off by the token limit after %d output tokens: raise max_tokens or split the spec", c.OutputTokens)
	}
	wos, err := prompt.ParsePlan(c.Text, int(req.GetMaxWorkOrders()))
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &sdk.DecomposeResponse{
		WorkOrders: wos, Model: c.Model, InputTokens: c.InputTokens, OutputTokens: c.OutputTokens,
		FinishReason: c.FinishReason, PromptHash: pr.Hash,
	}, nil
}

func (p *Proposer) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// fail logs a classified error (secrets already redacted) and returns it as a gRPC status.
func (p *Proposer) fail(op, name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		p.log().Error("model call failed", "op", op, "name", name, "provider", e.Provider, "kind", e.Kind.Error(),
			"status", e.Status, "attempts", e.Attempts, "error", e.Error())
		return e.GRPCStatus().Err()
	}
	return status.Error(codes.Unknown, Redact(err.Error()))
}
