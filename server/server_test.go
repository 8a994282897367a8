package server_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/servertest"
)

func TestRestartKeepsProjectsWorkOrdersAndEvents(t *testing.T) {
	t.Parallel()
	dsn := dbtest.DSN(t)
	ctx := context.Background()

	apiOnly := servertest.WithConfig(func(c *server.Config) { c.APIOnly = true })
	first := servertest.Start(t, servertest.WithDatabaseURL(dsn), apiOnly)
	c := dial(t, first)
	p := c.project(t, "calc")
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "survive", Complexity: 4})
	require.NoError(t, err)
	_, err = c.wos.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	first.Stop()

	second := servertest.Start(t, servertest.WithDatabaseURL(dsn), apiOnly)
	c2 := dial(t, second)
	got, err := c2.wos.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	require.Equal(t, moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED, got.GetWorkOrder().GetStatus())
	evs, err := c2.wos.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: r.GetWorkOrder().GetId()})
	require.NoError(t, err)
	require.Len(t, evs.GetEvents(), 2)
	ps, err := c2.projects.ListProjects(ctx, &moosev1.ListProjectsRequest{})
	require.NoError(t, err)
	require.Len(t, ps.GetProjects(), 1)
}

func TestTwoServersStartingTogetherApplySchemaOnce(t *testing.T) {
	t.Parallel()
	dsn := emptyDSN(t)
	var wg sync.WaitGroup
	servers := make([]*servertest.Server, 2)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i] = servertest.Start(t, servertest.WithDatabaseURL(dsn))
		}()
	}
	wg.Wait()
	for _, s := range servers {
		require.NotNil(t, s)
		c := dial(t, s)
		_, err := c.projects.ListProjects(context.Background(), &moosev1.ListProjectsRequest{})
		require.NoError(t, err)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var dup int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*) FROM (SELECT version_id FROM goose_db_version WHERE is_applied GROUP BY version_id HAVING count(*) > 1) d`).Scan(&dup))
	require.Zero(t, dup, "every migration applied exactly once")
}

// TestEmbeddedDatabaseSurvivesRestart runs moosed the way a new user does: no
// database URL, a private cluster under the data directory.
func TestEmbeddedDatabaseSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("initdb takes seconds")
	}
	t.Parallel()
	dir, err := os.MkdirTemp("", "moose-embedded-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755)) // the postgres user must be able to enter it
	embedded := servertest.WithConfig(func(c *server.Config) { c.DataDir = dir; c.DatabaseURL = "" })

	first := servertest.StartEmbedded(t, embedded)
	c := dial(t, first)
	p := c.project(t, "kept")
	first.Stop()

	second := servertest.StartEmbedded(t, embedded)
	got, err := dial(t, second).projects.GetProject(context.Background(), &moosev1.GetProjectRequest{Id: p.GetId()})
	require.NoError(t, err)
	require.Equal(t, "kept", got.GetProject().GetName())
}

// emptyDSN creates a database with no schema at all, dropped after the test.
func emptyDSN(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbtest.AdminDSN(t))
	require.NoError(t, err)
	defer admin.Close(ctx)
	name := "moose_empty_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dbtest.AdminDSN(t))
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(dbtest.AdminDSN(t))
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// setTier points a routing tier at a variant through the database, until the
// routing API is exercised on its own.
func setTier(t *testing.T, srv *servertest.Server, tier, variantID string) {
	t.Helper()
	_, err := srv.Server().Pool().Exec(context.Background(), `UPDATE routing_tiers SET variant_id = $2 WHERE name = $1`, tier, variantID)
	require.NoError(t, err)
}
