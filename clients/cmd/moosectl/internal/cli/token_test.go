package cli_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	s := newSession(t)

	var created moosev1.CreateTokenResponse
	s.json(&created, "token", "create", "ci", "--scope", "read", "--ttl", "1h")
	require.True(t, strings.HasPrefix(created.GetSecret(), "moose_"))
	require.Equal(t, []string{"read"}, created.GetToken().GetScopes())

	plain := s.ok("token", "create", "deployer", "--scope", "write")
	require.True(t, strings.HasPrefix(strings.TrimSpace(plain), "moose_"), "the table output is the secret alone, for $(...)")

	list := s.ok("token", "list")
	require.Contains(t, list, "ci")
	require.Contains(t, list, "deployer")
	require.NotContains(t, list, created.GetSecret(), "secrets are never listed")

	// The read token may list but not create; moosectl says which scope is missing.
	reader := &session{t: t, addr: s.addr, token: created.GetSecret()}
	reader.ok("project", "list")
	r := reader.run("project", "create", "--name", "p", "--repo", "https://example.com/p.git", "--language", "go")
	require.Equal(t, cli.ExitError, r.code)
	require.Contains(t, r.stderr, "write scope")
	r = (&session{t: t, addr: s.addr, token: ""}).run("token", "list")
	require.Equal(t, cli.ExitError, r.code, "no token: refused")
	require.Contains(t, r.stderr, "admin scope")

	s.ok("token", "revoke", "ci")
	r = reader.run("project", "list")
	require.Equal(t, cli.ExitError, r.code, "a revoked token stops working")

	r = s.run("token", "create", "nothing")
	require.Equal(t, cli.ExitUsage, r.code, "--scope is required")
}
