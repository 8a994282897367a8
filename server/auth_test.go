package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestAuthScopes: every call needs a token with the right scope; denials say
// which scope, over gRPC (Unauthenticated, PermissionDenied) and REST (401, 403).
func TestAuthScopes(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	ctx := context.Background()

	anon := moosev1.NewProjectServiceClient(srv.DialToken(t, ""))
	_, err := anon.ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), err)
	require.Contains(t, status.Convert(err).Message(), "read scope")
	_, err = moosev1.NewProjectServiceClient(srv.DialToken(t, "moose_not-a-real-token")).ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), err)

	// Health stays public for load balancers.
	h, err := healthpb.NewHealthClient(srv.DialToken(t, "")).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, h.GetStatus())

	read := srv.DialToken(t, srv.Token(t, "read"))
	write := srv.DialToken(t, srv.Token(t, "write"))
	_, err = moosev1.NewProjectServiceClient(read).ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.NoError(t, err, "read may read")
	_, err = moosev1.NewProjectServiceClient(read).CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "p", RepoUrl: "https://example.com/p.git", DefaultBranch: "main", Language: "go"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), err)
	require.Contains(t, status.Convert(err).Message(), "needs the write scope")

	p, err := moosev1.NewProjectServiceClient(write).CreateProject(ctx, &moosev1.CreateProjectRequest{Name: "p", RepoUrl: "https://example.com/p.git", DefaultBranch: "main", Language: "go"})
	require.NoError(t, err, "write may create projects")
	_, err = moosev1.NewWorkOrderServiceClient(write).CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetProject().GetId(), Title: "x", Complexity: 1})
	require.NoError(t, err, "write may create work orders")
	_, err = moosev1.NewRoutingServiceClient(write).SetTier(ctx, &moosev1.SetTierRequest{Name: "cheap", MinComplexity: 1, MaxComplexity: 3})
	require.Equal(t, codes.PermissionDenied, status.Code(err), err)
	require.Contains(t, status.Convert(err).Message(), "needs the admin scope")
	_, err = moosev1.NewPluginServiceClient(write).RegisterPlugin(ctx, &moosev1.RegisterPluginRequest{Kind: "proposer", Name: "x", Version: "1", Command: "x"})
	require.Equal(t, codes.PermissionDenied, status.Code(err), err)
	_, err = moosev1.NewTokenServiceClient(write).CreateToken(ctx, &moosev1.CreateTokenRequest{Name: "escalate", Scopes: []string{"admin"}})
	require.Equal(t, codes.PermissionDenied, status.Code(err), err)

	// Streams are checked too.
	ws, err := moosev1.NewWorkOrderServiceClient(srv.DialToken(t, "")).WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: p.GetProject().GetId()})
	require.NoError(t, err)
	_, err = ws.Recv()
	require.Equal(t, codes.Unauthenticated, status.Code(err), err)

	// REST: the gateway passes Authorization through; /healthz is public.
	get := func(c *http.Client, path string) int {
		t.Helper()
		resp, err := c.Get(srv.HTTPURL() + path)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, get(http.DefaultClient, "/healthz"))
	require.Equal(t, 401, get(http.DefaultClient, "/v1/projects"))
	require.Equal(t, 200, get(servertest.HTTPClientWithToken(srv.Token(t, "read")), "/v1/projects"))
	require.Equal(t, 403, get(servertest.HTTPClientWithToken(srv.Token(t, "read")), "/v1/tokens"))
	require.Equal(t, 200, get(srv.HTTPClient(), "/v1/tokens"))
}

// TestTokenLifecycle: a token's secret is shown once and never listed; a
// revoked or expired token stops working; names are unique among live tokens.
func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	ctx := context.Background()
	admin := moosev1.NewTokenServiceClient(srv.Dial(t))

	_, err := admin.CreateToken(ctx, &moosev1.CreateTokenRequest{Name: "bad name!", Scopes: []string{"root"}})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.ElementsMatch(t, []string{"name", "scopes"}, violations(t, err))

	created, err := admin.CreateToken(ctx, &moosev1.CreateTokenRequest{Name: "ci", Scopes: []string{"read"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(created.GetSecret(), "moose_"))
	require.GreaterOrEqual(t, len(created.GetSecret()), 6+43, "256 random bits")
	_, err = admin.CreateToken(ctx, &moosev1.CreateTokenRequest{Name: "ci", Scopes: []string{"read"}})
	require.Equal(t, codes.AlreadyExists, status.Code(err))

	ci := moosev1.NewProjectServiceClient(srv.DialToken(t, created.GetSecret()))
	_, err = ci.ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.NoError(t, err)

	list, err := admin.ListTokens(ctx, &moosev1.ListTokensRequest{})
	require.NoError(t, err)
	var found *moosev1.Token
	for _, tk := range list.GetTokens() {
		require.NotContains(t, tk.String(), created.GetSecret())
		if tk.GetName() == "ci" {
			found = tk
		}
	}
	require.NotNil(t, found)
	require.NotNil(t, found.GetLastUsedTime(), "use is recorded")
	require.Equal(t, []string{"read"}, found.GetScopes())

	revoked, err := admin.RevokeToken(ctx, &moosev1.RevokeTokenRequest{Id: "ci"})
	require.NoError(t, err)
	require.NotNil(t, revoked.GetToken().GetRevokeTime())
	_, err = ci.ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "revoked at once")
	_, err = admin.CreateToken(ctx, &moosev1.CreateTokenRequest{Name: "ci", Scopes: []string{"read"}})
	require.NoError(t, err, "the name of a revoked token can be reused")

	short, err := admin.CreateToken(ctx, &moosev1.CreateTokenRequest{Name: "short", Scopes: []string{"read"}, Ttl: durationpb.New(time.Second)})
	require.NoError(t, err)
	require.NotNil(t, short.GetToken().GetExpireTime())
	time.Sleep(1100 * time.Millisecond)
	_, err = moosev1.NewProjectServiceClient(srv.DialToken(t, short.GetSecret())).ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "expired")
}

// TestBootstrapTokenFile: a server on an empty database writes an admin token
// to a file only its owner can read; a restart on the same database does not
// mint another.
func TestBootstrapTokenFile(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) { c.DataDir = dataDir }))
	path := filepath.Join(dataDir, server.AdminTokenFileName)
	require.Equal(t, path, srv.Server().AdminTokenFile())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	secret := strings.TrimSpace(string(b))

	tokens := moosev1.NewTokenServiceClient(srv.DialToken(t, secret))
	list, err := tokens.ListTokens(context.Background(), &moosev1.ListTokensRequest{})
	require.NoError(t, err, "the file's token is an admin token")
	require.Equal(t, "admin", list.GetTokens()[0].GetName())
	require.Equal(t, []string{"admin"}, list.GetTokens()[0].GetScopes())

	dsn := srv.Server().Pool().Config().ConnString()
	srv.Stop()
	other := t.TempDir()
	servertest.Start(t, servertest.APIOnly(), servertest.WithDatabaseURL(dsn), servertest.WithConfig(func(c *server.Config) { c.DataDir = other }))
	_, err = os.Stat(filepath.Join(other, server.AdminTokenFileName))
	require.ErrorIs(t, err, os.ErrNotExist, "a database with tokens gets no second bootstrap token")
}
