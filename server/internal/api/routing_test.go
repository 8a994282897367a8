package api_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/routing"
)

// violations returns field → description of an InvalidArgument status.
func violations(t *testing.T, err error) map[string]string {
	t.Helper()
	st, ok := status.FromError(err)
	require.True(t, ok, "a gRPC status: %v", err)
	require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
	out := map[string]string{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out[v.GetField()] = v.GetDescription()
			}
		}
	}
	return out
}

func TestRoutingHandler(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.New(t)
	h := api.NewRoutingHandler(routing.New(pool), nil)

	// Variants are rows the variant service would have written.
	active, retired := uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO variants (id, name, plugin_name, status) VALUES ($1, 'active-v', 'replay', 'active'), ($2, 'retired-v', 'replay', 'retired')`,
		active, retired)
	require.NoError(t, err)

	list, err := h.ListTiers(ctx, &moosev1.ListTiersRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetTiers(), 2, "the migration's default tiers")
	require.Equal(t, "cheap", list.GetTiers()[0].GetName())
	require.Empty(t, list.GetTiers()[0].GetVariantId(), "no variant: empty, not the zero UUID")

	set, err := h.SetTier(ctx, &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 2, VariantId: active.String(), FallbackVariantId: active.String()})
	require.NoError(t, err)
	require.Equal(t, &moosev1.RoutingTier{Name: "cheap", MinComplexity: 1, MaxComplexity: 2, VariantId: active.String(), FallbackVariantId: active.String()},
		set.GetTier())

	list, err = h.ListTiers(ctx, &moosev1.ListTiersRequest{})
	require.NoError(t, err)
	require.Equal(t, active.String(), list.GetTiers()[0].GetVariantId())
	require.EqualValues(t, 2, list.GetTiers()[0].GetMaxComplexity())

	tests := []struct {
		name string
		req  *moosev1.SetTierRequest
		want map[string]string
	}{
		{"malformed ids, all reported", &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 2, VariantId: "active-v", FallbackVariantId: "x"},
			map[string]string{"variant_id": `must be a variant id (UUID), got "active-v"`, "fallback_variant_id": `must be a variant id (UUID), got "x"`}},
		{"range", &moosev1.SetTierRequest{Name: "", MinComplexity: 0, MaxComplexity: 11},
			map[string]string{"name": "is required", "min_complexity": "must be between 1 and 10", "max_complexity": "must be between min_complexity and 10"}},
		{"overlap", &moosev1.SetTierRequest{Name: "mid", MinComplexity: 2, MaxComplexity: 3},
			map[string]string{"min_complexity": `range 2–3 overlaps tier "cheap"`}},
		{"unknown variant", &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 2, VariantId: uuid.NewString()},
			nil},
		{"retired fallback", &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 2, FallbackVariantId: retired.String()},
			map[string]string{"fallback_variant_id": "variant " + retired.String() + " is retired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.SetTier(ctx, tt.req)
			got := violations(t, err)
			if tt.want == nil {
				require.Contains(t, got["variant_id"], "does not exist")
				return
			}
			require.Equal(t, tt.want, got)
		})
	}

	// Refused requests changed nothing.
	list, err = h.ListTiers(ctx, &moosev1.ListTiersRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetTiers(), 2)
	require.Equal(t, active.String(), list.GetTiers()[0].GetVariantId())
}
