package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func init() { register(newRoutingCommand) }

func newRoutingCommand(a *App) *cobra.Command {
	cmd := groupCommand("routing", "Show and change which variant handles which complexity")
	cmd.AddCommand(newRoutingListCommand(a), newRoutingSetCommand(a))
	return cmd
}

func routingClient(c *moose.Client) moosev1.RoutingServiceClient {
	return moosev1.NewRoutingServiceClient(c.Conn())
}

func newRoutingListCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the routing tiers, by complexity",
		Long: `List the routing tiers ordered by complexity: the range each covers, the
variant that handles its work orders and the fallback used while that
variant's provider is unavailable. Variants are shown by name; -o json gives
one ListTiersResponse with variant ids.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				resp, err := routingClient(c).ListTiers(ctx, &moosev1.ListTiersRequest{})
				if err != nil {
					return fmt.Errorf("list routing tiers: %w", err)
				}
				if a.format == output.JSON {
					return output.WriteJSON(a.stdout, resp)
				}
				names, err := variantNames(ctx, c)
				if err != nil {
					return err
				}
				return writeTiers(a.stdout, resp.GetTiers(), names)
			})
		},
	}
}

func newRoutingSetCommand(a *App) *cobra.Command {
	var (
		minC, maxC        int32
		variant, fallback string
	)
	cmd := &cobra.Command{
		Use:   "set TIER [--min N --max N] [--variant ID|NAME] [--fallback ID|NAME]",
		Short: "Create a tier or change its range and variants",
		Long: `Create a routing tier, or change an existing one. For an existing tier, the
flags not given keep their current values; a new tier needs --min and --max.
Complexity ranges (1 to 10) of different tiers must not overlap.

--variant and --fallback take a variant id or name, which must be active;
an empty value ("--fallback=") removes it from the tier. Work orders already
routed keep their variant.`,
		Example: `  moosectl routing set cheap --min 1 --max 3 --variant mini-v1 --fallback haiku-v1
  moosectl routing set strong --variant sonnet-v2`,
		Args: exactArgs(1, "TIER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := cmd.Flags().Changed
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				list, err := routingClient(c).ListTiers(ctx, &moosev1.ListTiersRequest{})
				if err != nil {
					return fmt.Errorf("list routing tiers: %w", err)
				}
				req := &moosev1.SetTierRequest{Name: args[0]}
				var found bool
				for _, t := range list.GetTiers() {
					if t.GetName() == args[0] {
						found = true
						req.MinComplexity, req.MaxComplexity = t.GetMinComplexity(), t.GetMaxComplexity()
						req.VariantId, req.FallbackVariantId = t.GetVariantId(), t.GetFallbackVariantId()
					}
				}
				if !found && (!set("min") || !set("max")) {
					return fmt.Errorf("routing tier %q does not exist: give --min and --max to create it", args[0])
				}
				if set("min") {
					req.MinComplexity = minC
				}
				if set("max") {
					req.MaxComplexity = maxC
				}
				if set("variant") {
					if req.VariantId, err = resolveVariantID(ctx, c, "--variant", variant); err != nil {
						return err
					}
				}
				if set("fallback") {
					if req.FallbackVariantId, err = resolveVariantID(ctx, c, "--fallback", fallback); err != nil {
						return err
					}
				}
				resp, err := routingClient(c).SetTier(ctx, req)
				if err != nil {
					return fmt.Errorf("set routing tier %s: %w", args[0], err)
				}
				t := resp.GetTier()
				if a.format == output.JSON {
					return output.WriteJSON(a.stdout, t)
				}
				names, err := variantNames(ctx, c)
				if err != nil {
					return err
				}
				return writeTiers(a.stdout, []*moosev1.RoutingTier{t}, names)
			})
		},
	}
	f := cmd.Flags()
	f.Int32Var(&minC, "min", 0, "lowest complexity the tier covers (1 to 10)")
	f.Int32Var(&maxC, "max", 0, "highest complexity the tier covers (--min to 10)")
	f.StringVar(&variant, "variant", "", `variant id or name handling the tier ("": none)`)
	f.StringVar(&fallback, "fallback", "", `fallback variant id or name ("": none)`)
	return cmd
}

// resolveVariantID turns an id or name into the variant's id; empty stays
// empty (none).
func resolveVariantID(ctx context.Context, c *moose.Client, flag, idOrName string) (string, error) {
	if idOrName == "" {
		return "", nil
	}
	resp, err := variantClient(c).GetVariant(ctx, &moosev1.GetVariantRequest{Id: idOrName})
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, idOrName, err)
	}
	return resp.GetVariant().GetId(), nil
}

// variantsByID lists every variant, retired ones included, by id: tables
// show variants by name, and the API answers with ids.
func variantsByID(ctx context.Context, c *moose.Client) (map[string]*moosev1.Variant, error) {
	resp, err := variantClient(c).ListVariants(ctx, &moosev1.ListVariantsRequest{})
	if err != nil {
		return nil, fmt.Errorf("list variants: %w", err)
	}
	byID := make(map[string]*moosev1.Variant, len(resp.GetVariants()))
	for _, v := range resp.GetVariants() {
		byID[v.GetId()] = v
	}
	return byID, nil
}

// variantNames maps every variant's id to how a tier table shows it.
func variantNames(ctx context.Context, c *moose.Client) (map[string]string, error) {
	byID, err := variantsByID(ctx, c)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(byID))
	for id := range byID {
		names[id] = variantName(byID, id)
	}
	return names, nil
}

// variantName is how a table shows the variant id: its name, marked when it
// is no longer active; the id itself when byID lacks it (deleted since) and
// "" for no variant.
func variantName(byID map[string]*moosev1.Variant, id string) string {
	v, ok := byID[id]
	if !ok {
		return id
	}
	if v.GetStatus() != moosev1.VariantStatus_VARIANT_STATUS_ACTIVE {
		return v.GetName() + " (" + variantStatusName(v.GetStatus()) + ")"
	}
	return v.GetName()
}

// variantNameAndID is variantName with the id beside it, for detail views:
// "base (0193…)", "cand (retired, 0193…)".
func variantNameAndID(byID map[string]*moosev1.Variant, id string) string {
	v, ok := byID[id]
	if !ok {
		return id
	}
	if v.GetStatus() != moosev1.VariantStatus_VARIANT_STATUS_ACTIVE {
		return v.GetName() + " (" + variantStatusName(v.GetStatus()) + ", " + id + ")"
	}
	return v.GetName() + " (" + id + ")"
}

// writeTiers writes one row per tier, variants by name where names has them
// (a variant deleted since would otherwise vanish: its id is shown instead).
func writeTiers(w io.Writer, tiers []*moosev1.RoutingTier, names map[string]string) error {
	show := func(id string) string {
		if id == "" {
			return "-"
		}
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	t := output.NewTable(w, "TIER", "COMPLEXITY", "VARIANT", "FALLBACK")
	for _, tier := range tiers {
		t.Row(tier.GetName(), fmt.Sprintf("%d-%d", tier.GetMinComplexity(), tier.GetMaxComplexity()),
			show(tier.GetVariantId()), show(tier.GetFallbackVariantId()))
	}
	return t.Flush()
}
