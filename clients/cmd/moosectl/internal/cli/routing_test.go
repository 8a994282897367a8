package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func TestRoutingCommands(t *testing.T) {
	t.Parallel()
	s, srv := builtinReplaySession(t)
	cassette := writeCassette(t)
	var mini, backup moosev1.Variant
	s.json(&mini, "variant", "create", "mini", "--plugin", "replay", "--base-url", cassette)
	s.json(&backup, "variant", "create", "backup", "--plugin", "replay", "--base-url", cassette)

	// The default table.
	out := s.ok("routing", "list")
	require.Equal(t, "TIER    COMPLEXITY  VARIANT  FALLBACK\n"+
		"cheap   1-3         -        -\n"+
		"strong  4-10        -        -\n", out)

	// Names are resolved to ids; the table shows names again.
	out = s.ok("routing", "set", "cheap", "--variant", "mini", "--fallback", backup.GetId())
	require.Regexp(t, `(?m)^cheap\s+1-3\s+mini\s+backup$`, out)

	var tier moosev1.RoutingTier
	s.json(&tier, "routing", "set", "strong", "--min", "5", "--variant", mini.GetId())
	require.Equal(t, "strong", tier.GetName())
	require.EqualValues(t, 5, tier.GetMinComplexity())
	require.EqualValues(t, 10, tier.GetMaxComplexity(), "flags not given keep their values")
	require.Equal(t, mini.GetId(), tier.GetVariantId())
	require.Empty(t, tier.GetFallbackVariantId())

	// A new tier needs its range; ranges must not overlap.
	r := s.run("routing", "set", "mid", "--variant", "mini")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, `routing tier "mid" does not exist: give --min and --max to create it`)
	r = s.run("routing", "set", "mid", "--min", "3", "--max", "4")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "(InvalidArgument)")
	require.Contains(t, r.stderr, `  min_complexity: range 3–4 overlaps tier "cheap"`)
	r = s.run("routing", "set", "cheap", "--min", "0", "--max", "11")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "  min_complexity: must be between 1 and 10")
	require.Contains(t, r.stderr, "  max_complexity: must be between min_complexity and 10")
	out = s.ok("routing", "set", "mid", "--min", "4", "--max", "4", "--fallback", "backup")
	require.Regexp(t, `(?m)^mid\s+4-4\s+-\s+backup$`, out)

	// Unknown and retired variants are refused; an empty value clears.
	r = s.run("routing", "set", "cheap", "--variant", "no-such-variant")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "--variant no-such-variant: ")
	require.Contains(t, r.stderr, "(NotFound)")
	s.ok("variant", "retire", "backup")
	r = s.run("routing", "set", "strong", "--fallback", "backup")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "  fallback_variant_id: variant "+backup.GetId()+" is retired")
	s.ok("routing", "set", "mid", "--fallback=")

	out = s.ok("routing", "list")
	require.Equal(t, "TIER    COMPLEXITY  VARIANT  FALLBACK\n"+
		"cheap   1-3         mini     backup (retired)\n"+
		"mid     4-4         -        -\n"+
		"strong  5-10        mini     -\n", out)

	var list moosev1.ListTiersResponse
	s.json(&list, "routing", "list")
	require.Len(t, list.GetTiers(), 3)
	require.Equal(t, backup.GetId(), list.GetTiers()[0].GetFallbackVariantId())

	// The same API over REST.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.HTTPURL()+"/v1/routing/tiers/mid",
		strings.NewReader(`{"min_complexity": 4, "max_complexity": 4, "variant_id": "`+mini.GetId()+`"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.HTTPClient().Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var set struct {
		Tier struct {
			Name      string `json:"name"`
			VariantID string `json:"variant_id"`
		} `json:"tier"`
	}
	require.NoError(t, json.Unmarshal(body, &set))
	require.Equal(t, "mid", set.Tier.Name)
	require.Equal(t, mini.GetId(), set.Tier.VariantID)

	resp, err = srv.HTTPClient().Get(srv.HTTPURL() + "/v1/routing/tiers")
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, string(body), `"name":"mid"`)

	req, err = http.NewRequestWithContext(t.Context(), http.MethodPut, srv.HTTPURL()+"/v1/routing/tiers/mid",
		strings.NewReader(`{"min_complexity": 4, "max_complexity": 4, "variant_id": "mini"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err = srv.HTTPClient().Do(req)
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	require.Contains(t, string(body), `variant_id: must be a variant id (UUID), got \"mini\"`)
}

func TestRoutingUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"routing", "set"}, {"routing", "set", "a", "b"}, {"routing", "list", "x"}, {"routing", "set", "a", "--min", "low"}} {
		r := moosectl(t, nil, append([]string{"--server", "127.0.0.1:1"}, args...)...)
		require.Equal(t, cli.ExitUsage, r.code, "%v: %s", args, r.stderr)
	}
}
