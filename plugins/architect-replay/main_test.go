package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/moosehq/moose/plugins/sdk"
)

func TestDecomposeServesTheExampleRecording(t *testing.T) {
	t.Parallel()
	spec, err := os.ReadFile("../../examples/specs/calc-features.md")
	require.NoError(t, err)
	r := &replay{cache: map[string]cached{}}
	cfg := &sdk.ArchitectConfig{BaseUrl: "../../examples/cassettes/architect.yaml"}
	resp, err := r.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: string(spec), SpecName: "calc-features.md", Config: cfg})
	require.NoError(t, err)
	require.Len(t, resp.GetWorkOrders(), 4)
	first := resp.GetWorkOrders()[0]
	require.Equal(t, "Support the modulo operator % in calc.Eval", first.GetTitle())
	require.EqualValues(t, 3, first.GetComplexity())
	require.Contains(t, first.GetAcceptanceCriteria(), "Eval(\"7 % 3\") returns 1")
	require.Equal(t, "gpt-4o-mini", resp.GetModel())
	require.EqualValues(t, 1184, resp.GetInputTokens())

	resp, err = r.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: string(spec), Config: cfg, MaxWorkOrders: 2})
	require.NoError(t, err)
	require.Len(t, resp.GetWorkOrders(), 2)

	_, err = r.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: "# Something else\n", Config: cfg})
	require.Equal(t, codes.NotFound, status.Code(err))
	require.Contains(t, err.Error(), `"Calculator features"`)

	_, err = r.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: "x"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestDecomposeMatchesSpecHashFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	// The second entry's hash is sha256("# Same heading\n"): it wins over the first's key.
	require.NoError(t, os.WriteFile(path, []byte(`entries:
  - key: "Same heading"
    work_orders: [{title: by key}]
  - key: other
    spec_sha256: 4680f099279849e29df9a7ea01e3e44e5787436cc041bd862671770e8192eee6
    work_orders: [{title: by hash}]
`), 0o644))
	r := &replay{cache: map[string]cached{}}
	resp, err := r.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: "# Same heading\n", Config: &sdk.ArchitectConfig{Params: map[string]string{"cassette": path}}})
	require.NoError(t, err)
	require.Equal(t, "by hash", resp.GetWorkOrders()[0].GetTitle())
	require.EqualValues(t, 5, resp.GetWorkOrders()[0].GetComplexity(), "missing complexity defaults to 5")
	resp, err = r.Decompose(context.Background(), &sdk.DecomposeRequest{Spec: "# Same heading\nmore\n", Config: &sdk.ArchitectConfig{Params: map[string]string{"cassette": path}}})
	require.NoError(t, err)
	require.Equal(t, "by key", resp.GetWorkOrders()[0].GetTitle())
	require.Equal(t, "Same heading", Heading("intro\n# Same heading\n## x"))
}
