package pluginhost

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moosehq/moose/server/internal/fault"
)

// ErrChecksum: the binary's sha256 differs from the registered (or requested) one.
var ErrChecksum = errors.New("sha256 mismatch")

// startError is a plugin binary that cannot be started as registered: it is
// missing or not executable, its sha256 is not the pinned one, or it fails
// go-plugin's handshake. Retrying cannot help until the binary or its
// registration changes, so it is a failed precondition, and its message is
// the real reason, on one line.
//
// It keeps only its cause's message, not the cause: the OS errors underneath
// (syscall.Errno satisfies net.Error) would make the API's error mapping
// read a permission problem as a database outage.
type startError struct {
	msg      string
	checksum bool
}

func (e *startError) Error() string { return e.msg }

func (e *startError) Unwrap() []error {
	if e.checksum {
		return []error{fault.ErrFailedPrecondition, ErrChecksum}
	}
	return []error{fault.ErrFailedPrecondition}
}

// cannotStart makes err a startError, keeping its message and whether it is
// a checksum mismatch. Wrapping the result with %w keeps both.
func cannotStart(err error) error {
	return &startError{msg: oneLine(err.Error()), checksum: errors.Is(err, ErrChecksum)}
}

// preconditionf is cannotStart of a formatted message.
func preconditionf(format string, args ...any) error {
	return cannotStart(fmt.Errorf(format, args...))
}

// oneLine joins the lines of a multi-line message (go-plugin's handshake
// errors add notes on lines of their own) so a client prints one line.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), "; ")
}
