package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"

	"github.com/moosehq/moose/clients/moose"
)

// usageError is a mistake in how moosectl was called: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usageErrorf reports a usage mistake found by a command's own checks.
func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError ends the command with a chosen status; msg (may be empty) goes
// to stderr as is.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return fmt.Sprintf("exit status %d: %s", e.code, e.msg) }

func exitCode(code int, msg string) error { return exitError{code: code, msg: msg} }

// noArgs and exactArgs make argument-count mistakes usage errors.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

func exactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s needs %d argument(s) (%s), got %d", cmd.CommandPath(), n, strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// printError explains a failed request: the server's own message (without
// gRPC's "rpc error: code = ... desc =" framing) and its status code, then
// one line per invalid field.
func printError(w io.Writer, err error, server string) {
	st := moose.Status(err)
	if st == nil {
		fmt.Fprintf(w, "Error: %v\n", err)
		return
	}
	// Keep the client's context ("approve work order X: ") but show the
	// server's text instead of the gRPC rendering of the status, and say the
	// context once when the server's text already starts with it.
	msg := st.Message()
	if before, _, found := strings.Cut(err.Error(), st.Err().Error()); found && !strings.HasPrefix(msg, before) {
		msg = before + msg
	}
	fmt.Fprintf(w, "Error: %s (%s)\n", msg, st.Code())
	if fv := moose.FieldViolations(err); len(fv) > 0 {
		fmt.Fprintln(w, "Invalid fields:")
		for _, v := range fv {
			fmt.Fprintf(w, "  %s: %s\n", v.Field, v.Description)
		}
	}
	switch st.Code() {
	case codes.Unavailable:
		fmt.Fprintf(w, "Is moosed running at %s? Set --server or %s to point elsewhere.\n", server, EnvServer)
	case codes.DeadlineExceeded:
		fmt.Fprintln(w, "The request ran past --timeout; raise it (or 0 for none) if the server is slow.")
	}
}
