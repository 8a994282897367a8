package dbtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dbtest"
)

// helperEnv makes TestPrintAdminDSN print this binary's AdminDSN, so the test
// binary re-run stands in for a second test binary of the same `go test` run.
const helperEnv = "DBTEST_PRINT_ADMIN_DSN"

func TestPrintAdminDSN(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("helper for TestTestBinariesShareOneServer")
	}
	fmt.Println("DSN", dbtest.AdminDSN(t))
}

func scalar[T any](t *testing.T, pool *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&v))
	return v
}

func TestNewGivesIsolatedMigratedDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := dbtest.New(t), dbtest.New(t)

	for _, pool := range []*pgxpool.Pool{a, b} {
		require.True(t, scalar[bool](t, pool, "SELECT to_regclass('work_orders') IS NOT NULL"), "migrations not applied")
	}
	require.NotEqual(t,
		scalar[string](t, a, "SELECT current_database()"),
		scalar[string](t, b, "SELECT current_database()"))

	_, err := a.Exec(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language)
		VALUES (gen_random_uuid(), 'only-in-a', 'https://example.com/a.git', 'main', 'go')`)
	require.NoError(t, err)
	require.Equal(t, 1, scalar[int](t, a, "SELECT count(*) FROM projects"))
	require.Equal(t, 0, scalar[int](t, b, "SELECT count(*) FROM projects"))
}

func TestDSNDatabaseIsDroppedAfterTest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var name string
	t.Run("uses", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, dbtest.DSN(t))
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&name))
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM work_orders").Scan(&n))
		require.Zero(t, n)
		// Left open on purpose: cleanup must terminate it before dropping.
		_, err = pgx.Connect(ctx, dbtest.DSN(t))
		require.NoError(t, err)
	})
	require.NotEmpty(t, name)

	admin, err := pgx.Connect(ctx, dbtest.AdminDSN(t))
	require.NoError(t, err)
	defer admin.Close(ctx)
	var exists bool
	require.NoError(t, admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	require.False(t, exists, "database %s survived its test", name)
}

func TestAdminDSNCanCreateDatabases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbtest.AdminDSN(t))
	require.NoError(t, err)
	defer admin.Close(ctx)
	name := fmt.Sprintf("dbtest_admin_%d", os.Getpid())
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, "DROP DATABASE "+name)
	require.NoError(t, err)
}

func TestTestBinariesShareOneServer(t *testing.T) {
	t.Parallel()
	if os.Getenv(dbtest.EnvDatabaseURL) != "" {
		t.Skip("an external server is shared by construction")
	}
	mine := dbtest.AdminDSN(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestPrintAdminDSN$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	var line string
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "DSN ") {
			line = l
		}
	}
	require.Equal(t, "DSN "+mine+"\n", line, "a second test binary started its own server")
}

// BenchmarkNew measures what a test pays for its database: clone, pool, and
// the drop at cleanup.
func BenchmarkNew(b *testing.B) {
	dbtest.New(b) // template and server outside the measurement
	b.ResetTimer()
	for b.Loop() {
		tb := &cleanupTB{TB: b}
		dbtest.New(tb)
		tb.cleanup()
	}
}

// cleanupTB runs cleanups when told instead of at the end of the benchmark.
type cleanupTB struct {
	testing.TB
	fns []func()
}

func (c *cleanupTB) Cleanup(f func()) { c.fns = append(c.fns, f) }

func (c *cleanupTB) Logf(string, ...any) {} // keep the per-database DSN lines out

func (c *cleanupTB) cleanup() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
	}
	c.fns = nil
}
