package api

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/variant"
)

// VariantHandler serves moose.v1.VariantService.
type VariantHandler struct {
	moosev1.UnimplementedVariantServiceServer
	svc *variant.Service
	log *slog.Logger
}

// NewVariantHandler returns a VariantHandler over svc.
func NewVariantHandler(svc *variant.Service, log *slog.Logger) *VariantHandler {
	return &VariantHandler{svc: svc, log: log}
}

func (h *VariantHandler) CreateVariant(ctx context.Context, req *moosev1.CreateVariantRequest) (*moosev1.CreateVariantResponse, error) {
	v, err := h.svc.Create(ctx, variant.Variant{
		Name:                   req.GetName(),
		PluginName:             req.GetPluginName(),
		PluginVersion:          req.GetPluginVersion(),
		Model:                  req.GetModel(),
		BaseURL:                req.GetBaseUrl(),
		SystemPrompt:           req.GetSystemPrompt(),
		PromptTemplate:         req.GetPromptTemplate(),
		Temperature:            req.GetTemperature(),
		MaxTokens:              int(req.GetMaxTokens()),
		EditFormat:             req.GetEditFormat(),
		FewShotCount:           int(req.GetFewShotCount()),
		InputPricePerMTok:      req.GetInputPricePerMtok(),
		OutputPricePerMTok:     req.GetOutputPricePerMtok(),
		CacheReadPricePerMTok:  req.GetCacheReadPricePerMtok(),
		CacheWritePricePerMTok: req.GetCacheWritePricePerMtok(),
		Params:                 req.GetParams(),
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.CreateVariantResponse{Variant: variantToProto(v)}, nil
}

func (h *VariantHandler) ListVariants(ctx context.Context, req *moosev1.ListVariantsRequest) (*moosev1.ListVariantsResponse, error) {
	st, err := variant.ParseStatus(req.GetStatus())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	vs, err := h.svc.List(ctx, variant.ListFilter{Status: st, PluginName: req.GetPluginName()})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	resp := &moosev1.ListVariantsResponse{}
	for _, v := range vs {
		resp.Variants = append(resp.Variants, variantToProto(v))
	}
	return resp, nil
}

func (h *VariantHandler) GetVariant(ctx context.Context, req *moosev1.GetVariantRequest) (*moosev1.GetVariantResponse, error) {
	v, err := h.svc.Get(ctx, req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.GetVariantResponse{Variant: variantToProto(v)}, nil
}

func (h *VariantHandler) RetireVariant(ctx context.Context, req *moosev1.RetireVariantRequest) (*moosev1.RetireVariantResponse, error) {
	v, err := h.svc.Retire(ctx, req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.RetireVariantResponse{Variant: variantToProto(v)}, nil
}

func (h *VariantHandler) TryVariant(ctx context.Context, req *moosev1.TryVariantRequest) (*moosev1.TryVariantResponse, error) {
	wo := req.GetWorkOrder()
	res, err := h.svc.Try(ctx, req.GetId(), variant.TryRequest{
		Title:              wo.GetTitle(),
		Description:        wo.GetDescription(),
		AcceptanceCriteria: wo.GetAcceptanceCriteria(),
		Complexity:         int(wo.GetComplexity()),
		Metadata:           wo.GetMetadata(),
		ProjectID:          req.GetProjectId(),
		Cycle:              int(req.GetCycle()),
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	resp := &moosev1.TryVariantResponse{
		Text:                  res.Text,
		Model:                 res.Model,
		InputTokens:           res.InputTokens,
		CacheReadInputTokens:  res.CacheReadInputTokens,
		CacheWriteInputTokens: res.CacheWriteInputTokens,
		OutputTokens:          res.OutputTokens,
		FinishReason:          res.FinishReason,
		Latency:               durationpb.New(res.Latency),
		CostUsd:               res.CostUSD,
	}
	for _, e := range res.Edits {
		resp.Edits = append(resp.Edits, &moosev1.TryEdit{Path: e.GetPath(), Content: e.GetContent(), Delete: e.GetDelete()})
	}
	return resp, nil
}

func variantToProto(v variant.Variant) *moosev1.Variant {
	out := &moosev1.Variant{
		Id:                     v.ID,
		Name:                   v.Name,
		PluginName:             v.PluginName,
		PluginVersion:          v.PluginVersion,
		Model:                  v.Model,
		BaseUrl:                v.BaseURL,
		SystemPrompt:           v.SystemPrompt,
		PromptTemplate:         v.PromptTemplate,
		Temperature:            v.Temperature,
		MaxTokens:              int32(v.MaxTokens),
		EditFormat:             v.EditFormat,
		FewShotCount:           int32(v.FewShotCount),
		InputPricePerMtok:      v.InputPricePerMTok,
		OutputPricePerMtok:     v.OutputPricePerMTok,
		CacheReadPricePerMtok:  v.CacheReadPricePerMTok,
		CacheWritePricePerMtok: v.CacheWritePricePerMTok,
		Params:                 v.Params,
		CreateTime:             timestamppb.New(v.CreatedAt),
	}
	p, source := v.Prices()
	out.EffectivePrices = &moosev1.Prices{InputPerMtok: p.Input, CacheReadPerMtok: p.CacheRead,
		CacheWritePerMtok: p.CacheWrite, OutputPerMtok: p.Output, Source: source}
	switch v.Status {
	case variant.StatusActive:
		out.Status = moosev1.VariantStatus_VARIANT_STATUS_ACTIVE
	case variant.StatusRetired:
		out.Status = moosev1.VariantStatus_VARIANT_STATUS_RETIRED
	}
	if v.RetiredAt != nil {
		out.RetireTime = timestamppb.New(*v.RetiredAt)
	}
	return out
}
