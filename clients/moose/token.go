package moose

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// Tokens is the raw generated TokenService client.
func (c *Client) Tokens() moosev1.TokenServiceClient { return moosev1.NewTokenServiceClient(c.conn) }

// CreateToken mints a token with the given scopes ("read", "write", "admin")
// and returns it with its secret, which the server shows only this once.
// ttl 0 means no expiry. It needs the admin scope.
func (c *Client) CreateToken(ctx context.Context, name string, scopes []string, ttl time.Duration) (*moosev1.Token, string, error) {
	req := &moosev1.CreateTokenRequest{Name: name, Scopes: scopes}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	resp, err := c.Tokens().CreateToken(ctx, req)
	if err != nil {
		return nil, "", fmt.Errorf("create token %q: %w", name, err)
	}
	return resp.GetToken(), resp.GetSecret(), nil
}

// ListTokens lists every token (never a secret), oldest first.
func (c *Client) ListTokens(ctx context.Context) ([]*moosev1.Token, error) {
	resp, err := c.Tokens().ListTokens(ctx, &moosev1.ListTokensRequest{})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return resp.GetTokens(), nil
}

// RevokeToken revokes a token by id or name; it stops working at once.
func (c *Client) RevokeToken(ctx context.Context, idOrName string) (*moosev1.Token, error) {
	resp, err := c.Tokens().RevokeToken(ctx, &moosev1.RevokeTokenRequest{Id: idOrName})
	if err != nil {
		return nil, fmt.Errorf("revoke token %q: %w", idOrName, err)
	}
	return resp.GetToken(), nil
}
