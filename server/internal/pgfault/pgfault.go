// Package pgfault translates errors of the PostgreSQL driver (pgx) into
// Moose's error vocabulary (package fault) at the edge where they leave the
// driver. It is the one place that knows what a database outage looks like:
// the connection could not be made (server down, socket missing, refused),
// broke mid-query (the server was killed or shut down), or the server refuses
// new work for now (starting up, shutting down, out of connections). All of
// those become fault.ErrUnavailable, which the API maps to Unavailable (gRPC)
// and 503 (REST), so a client knows to retry; nothing else is changed.
package pgfault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/moosehq/moose/server/internal/fault"
)

// ErrDatabaseUnavailable is what a translated outage error says; it wraps
// fault.ErrUnavailable. The driver's text (socket paths, addresses) is kept
// only in the chain for logs, not in the message.
var ErrDatabaseUnavailable = fmt.Errorf("database %w", fault.ErrUnavailable)

// outage wraps the driver's error so errors.Is finds both it and
// ErrDatabaseUnavailable, while Error shows only the latter.
type outage struct{ cause error }

func (o *outage) Error() string   { return ErrDatabaseUnavailable.Error() }
func (o *outage) Unwrap() []error { return []error{ErrDatabaseUnavailable, o.cause} }

// Translate returns err unchanged unless it says the database cannot be
// reached now; then it returns an error that wraps fault.ErrUnavailable.
func Translate(err error) error {
	if err == nil || errors.Is(err, fault.ErrUnavailable) || !IsOutage(err) {
		return err
	}
	return &outage{cause: err}
}

// IsOutage reports whether err means the database is unreachable or refuses
// work for a while, as opposed to a problem with the request.
func IsOutage(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up; that says nothing about the server
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08": // connection_exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.Is(err, pgconn.ErrConnClosed):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOENT) && errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The server closed the connection under a query.
		return true
	case errors.As(err, &netErr) && !netErr.Timeout():
		return true
	}
	// pgconn marks errors that happened before anything reached the server.
	return pgconn.SafeToRetry(err)
}
