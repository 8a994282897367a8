package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/cli"
)

func TestSpecDecomposeUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"spec", "decompose", "../../../../../examples/specs/calc-features.md"}, "--project is required"},
		{[]string{"spec", "decompose", "/no/such/spec.md", "--project", "p"}, "read spec"},
		{[]string{"spec", "decompose", "-", "--project", "p"}, "is empty"},
		{[]string{"spec", "decompose"}, "needs 1 argument"},
		{[]string{"spec", "decompose", "../../../../../examples/specs/calc-features.md", "--project", "p", "--param", "novalue"}, "want KEY=VALUE"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := cli.Run(context.Background(), tc.args, strings.NewReader("  \n"), &stdout, &stderr)
		require.Equal(t, 2, code, "%v: %s", tc.args, stderr.String())
		require.Contains(t, stderr.String(), tc.want, tc.args)
	}
}
