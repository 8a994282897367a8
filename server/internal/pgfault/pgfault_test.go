package pgfault_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/pgfault"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	// A real driver error: the socket directory holds no server.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, connectErr := pgx.Connect(ctx, "postgres://moose:x@/moose?host="+filepath.Join(t.TempDir(), "nosuch")+"&port=5432")
	require.Error(t, connectErr)
	_, refused := pgx.Connect(ctx, "postgres://moose:x@127.0.0.1:1/moose?connect_timeout=2")
	require.Error(t, refused)

	for _, tc := range []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"socket missing", connectErr, true},
		{"tcp refused", refused, true},
		{"wrapped by a domain package", fmt.Errorf("get work order 1: %w", connectErr), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"conn closed", pgconn.ErrConnClosed, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"no rows", pgx.ErrNoRows, false},
		{"caller cancelled", fmt.Errorf("query: %w", context.Canceled), false},
		{"domain not found", fault.ErrNotFound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pgfault.Translate(tc.err)
			require.Equal(t, tc.unavailable, errors.Is(got, fault.ErrUnavailable), "%v", tc.err)
			require.ErrorIs(t, got, tc.err, "the driver's error stays in the chain")
			if tc.unavailable {
				require.Equal(t, "database unavailable", got.Error(), "no socket paths or addresses in the message")
			} else {
				require.Same(t, tc.err, got)
			}
		})
	}
	require.NoError(t, pgfault.Translate(nil))
}
