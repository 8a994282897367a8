package api

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/routing"
)

// RoutingHandler serves moose.v1.RoutingService over the router's tier table.
type RoutingHandler struct {
	moosev1.UnimplementedRoutingServiceServer
	router *routing.Router
	log    *slog.Logger
}

// NewRoutingHandler returns a RoutingHandler over router.
func NewRoutingHandler(router *routing.Router, log *slog.Logger) *RoutingHandler {
	return &RoutingHandler{router: router, log: log}
}

func (h *RoutingHandler) ListTiers(ctx context.Context, _ *moosev1.ListTiersRequest) (*moosev1.ListTiersResponse, error) {
	tiers, err := h.router.Tiers(ctx)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	resp := &moosev1.ListTiersResponse{}
	for _, t := range tiers {
		resp.Tiers = append(resp.Tiers, tierToProto(t))
	}
	return resp, nil
}

func (h *RoutingHandler) SetTier(ctx context.Context, req *moosev1.SetTierRequest) (*moosev1.SetTierResponse, error) {
	// Variant ids are parsed here rather than in the router, whose callers
	// already hold UUIDs; every malformed id is reported at once.
	v := &fault.ValidationError{}
	variantID := parseOptionalUUID(v, "variant_id", req.GetVariantId())
	fallbackID := parseOptionalUUID(v, "fallback_variant_id", req.GetFallbackVariantId())
	if err := v.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	t, err := h.router.SetTier(ctx, routing.Tier{
		Name:              req.GetName(),
		MinComplexity:     int(req.GetMinComplexity()),
		MaxComplexity:     int(req.GetMaxComplexity()),
		VariantID:         variantID,
		FallbackVariantID: fallbackID,
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.SetTierResponse{Tier: tierToProto(t)}, nil
}

// parseOptionalUUID parses s, which may be empty (meaning none), recording a
// violation for field when it is not a UUID.
func parseOptionalUUID(v *fault.ValidationError, field, s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		v.Add(field, "must be a variant id (UUID), got %q", s)
		return uuid.Nil
	}
	return id
}

func tierToProto(t routing.Tier) *moosev1.RoutingTier {
	out := &moosev1.RoutingTier{
		Name:          t.Name,
		MinComplexity: int32(t.MinComplexity),
		MaxComplexity: int32(t.MaxComplexity),
	}
	if t.VariantID != uuid.Nil {
		out.VariantId = t.VariantID.String()
	}
	if t.FallbackVariantID != uuid.Nil {
		out.FallbackVariantId = t.FallbackVariantID.String()
	}
	return out
}
