package moose_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/moosehq/moose/clients/moose"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestTokenFromDataDir: with no token given, the client finds the admin token
// moosed wrote to its data dir, and manages tokens with it.
func TestTokenFromDataDir(t *testing.T) {
	t.Parallel()
	if os.Getenv(moose.EnvToken) != "" {
		t.Skip("MOOSE_TOKEN is set in this environment and takes precedence")
	}
	dataDir := t.TempDir()
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) { c.DataDir = dataDir }))
	secret := moose.FindToken(dataDir)
	require.NotEmpty(t, secret, "the bootstrap token is found in the data dir")

	c, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithToken(secret))
	require.NoError(t, err)
	defer c.Close()
	tok, readSecret, err := c.CreateToken(t.Context(), "viewer", []string{"read"}, time.Hour)
	require.NoError(t, err)
	require.NotNil(t, tok.GetExpireTime())
	list, err := c.ListTokens(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 3, "bootstrap, servertest's and viewer")

	viewer, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithToken(readSecret))
	require.NoError(t, err)
	defer viewer.Close()
	_, _, err = viewer.ListProjects(t.Context(), moose.Page{})
	require.NoError(t, err)
	_, _, err = viewer.CreateToken(t.Context(), "mine", []string{"admin"}, 0)
	require.Equal(t, codes.PermissionDenied, moose.Status(err).Code(), err)

	_, err = c.RevokeToken(t.Context(), "viewer")
	require.NoError(t, err)
	_, _, err = viewer.ListProjects(t.Context(), moose.Page{})
	require.Equal(t, codes.Unauthenticated, moose.Status(err).Code(), err)

	anon, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithoutToken())
	require.NoError(t, err)
	defer anon.Close()
	_, _, err = anon.ListProjects(t.Context(), moose.Page{})
	require.Equal(t, codes.Unauthenticated, moose.Status(err).Code(), err)
}
