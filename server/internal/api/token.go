package api

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/token"
)

// TokenHandler serves moose.v1.TokenService.
type TokenHandler struct {
	moosev1.UnimplementedTokenServiceServer
	svc *token.Service
	log *slog.Logger
}

// NewTokenHandler returns a TokenHandler over svc.
func NewTokenHandler(svc *token.Service, log *slog.Logger) *TokenHandler {
	return &TokenHandler{svc: svc, log: log}
}

func (h *TokenHandler) CreateToken(ctx context.Context, req *moosev1.CreateTokenRequest) (*moosev1.CreateTokenResponse, error) {
	var ttl time.Duration
	if req.GetTtl() != nil {
		ttl = req.GetTtl().AsDuration()
	}
	t, secret, err := h.svc.Create(ctx, req.GetName(), req.GetScopes(), ttl)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	h.log.InfoContext(ctx, "token created", "token", t.Name, "scopes", t.Scopes, "by", actor(ctx, ""))
	return &moosev1.CreateTokenResponse{Token: tokenToProto(t), Secret: secret}, nil
}

func (h *TokenHandler) ListTokens(ctx context.Context, _ *moosev1.ListTokensRequest) (*moosev1.ListTokensResponse, error) {
	ts, err := h.svc.List(ctx)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	resp := &moosev1.ListTokensResponse{}
	for _, t := range ts {
		resp.Tokens = append(resp.Tokens, tokenToProto(t))
	}
	return resp, nil
}

func (h *TokenHandler) RevokeToken(ctx context.Context, req *moosev1.RevokeTokenRequest) (*moosev1.RevokeTokenResponse, error) {
	t, err := h.svc.Revoke(ctx, req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	h.log.InfoContext(ctx, "token revoked", "token", t.Name, "by", actor(ctx, ""))
	return &moosev1.RevokeTokenResponse{Token: tokenToProto(t)}, nil
}

func tokenToProto(t token.Token) *moosev1.Token {
	p := &moosev1.Token{Id: t.ID, Name: t.Name, CreateTime: timestamppb.New(t.CreatedAt)}
	for _, s := range t.Scopes {
		p.Scopes = append(p.Scopes, string(s))
	}
	if t.ExpiresAt != nil {
		p.ExpireTime = timestamppb.New(*t.ExpiresAt)
	}
	if t.LastUsedAt != nil {
		p.LastUsedTime = timestamppb.New(*t.LastUsedAt)
	}
	if t.RevokedAt != nil {
		p.RevokeTime = timestamppb.New(*t.RevokedAt)
	}
	return p
}
