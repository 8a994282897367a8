package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newTokenCommand) }

func newTokenCommand(a *App) *cobra.Command {
	cmd := groupCommand("token", "Mint, list and revoke API tokens (admin scope)")
	cmd.AddCommand(newTokenCreateCommand(a), newTokenListCommand(a), newTokenRevokeCommand(a))
	return cmd
}

func newTokenCreateCommand(a *App) *cobra.Command {
	var scopes []string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create NAME --scope read|write|admin [--ttl DURATION]",
		Short: "Mint a token and print its secret (shown only once)",
		Long: `Mint a bearer token. Scopes nest: write includes read, admin includes both.
read: every query. write: create projects, work orders (approve, cancel,
retry), decompose specs, export datasets. admin: plugins, variants, routing,
experiments and tokens. The token's name is recorded as the actor of what it
does. The secret is printed once; moosed keeps only its hash.`,
		Example: `  moosectl token create ci --scope write --ttl 720h
  MOOSE_TOKEN=$(moosectl token create viewer --scope read -o json | jq -r .secret)`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(scopes) == 0 {
				return usageErrorf("--scope is required (read, write or admin)")
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := c.Tokens().CreateToken(ctx, tokenRequest(args[0], scopes, ttl))
				if err != nil {
					return fmt.Errorf("create token %q: %w", args[0], err)
				}
				if a.format == output.JSON {
					return output.WriteJSON(a.stdout, resp)
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", resp.GetSecret())
				if err == nil {
					_, err = fmt.Fprintf(a.stderr, "token %s (%s, scopes %s): the secret above is shown only once\n",
						resp.GetToken().GetName(), resp.GetToken().GetId(), strings.Join(resp.GetToken().GetScopes(), ","))
				}
				return err
			})
		},
	}
	cmd.Flags().StringSliceVar(&scopes, "scope", nil, "scope: read, write or admin (repeatable)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime (0: no expiry)")
	return cmd
}

func tokenRequest(name string, scopes []string, ttl time.Duration) *moosev1.CreateTokenRequest {
	req := &moosev1.CreateTokenRequest{Name: name, Scopes: scopes}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	return req
}

func newTokenListCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := c.Tokens().ListTokens(ctx, &moosev1.ListTokensRequest{})
				if err != nil {
					return fmt.Errorf("list tokens: %w", err)
				}
				return a.Render(resp, func(w io.Writer) error {
					t := output.NewTable(w, "ID", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "REVOKED")
					for _, tk := range resp.GetTokens() {
						t.Row(tk.GetId(), tk.GetName(), strings.Join(tk.GetScopes(), ","), output.Time(tk.GetCreateTime()),
							optTime(tk.GetExpireTime()), optTime(tk.GetLastUsedTime()), optTime(tk.GetRevokeTime()))
					}
					return t.Flush()
				})
			})
		},
	}
}

func newTokenRevokeCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a token; it stops working at once",
		Args:  exactArgs(1, "ID|NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := c.Tokens().RevokeToken(ctx, &moosev1.RevokeTokenRequest{Id: args[0]})
				if err != nil {
					return fmt.Errorf("revoke token %q: %w", args[0], err)
				}
				return a.Render(resp, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "revoked token %s (%s)\n", resp.GetToken().GetName(), resp.GetToken().GetId())
					return err
				})
			})
		},
	}
}

func optTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return output.Time(ts)
}
