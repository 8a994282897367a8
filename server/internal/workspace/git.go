package workspace

import (
	"bytes"
	"context"

	"github.com/moosehq/moose/server/internal/gitcmd"
)

// git runs git in dir and returns its standard output, with the configuration
// and minimal environment of package gitcmd (no hooks, fsmonitor, filters or
// moosed's environment).
func git(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	return gitcmd.Run(ctx, dir, extraEnv, nil, args...)
}

// splitZ splits NUL-terminated git output.
func splitZ(b []byte) []string {
	var out []string
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) > 0 {
			out = append(out, string(f))
		}
	}
	return out
}
