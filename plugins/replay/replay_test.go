package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/sdk"
	"github.com/moosehq/moose/plugins/sdk/sdktest"
)

func TestFind(t *testing.T) {
	t.Parallel()
	c := &Cassette{Entries: []Entry{
		{Key: "a", Cycle: 1, Text: "a1"},
		{Key: "a", Cycle: 2, Text: "a2"},
		{Key: "b", Text: "b-any"},
	}}
	for _, tc := range []struct {
		key   string
		cycle int32
		text  string
		err   string
	}{
		{"a", 1, "a1", ""},
		{"a", 2, "a2", ""},
		{"a", 3, "", "has no answer for cycle 3 (recorded cycles [1 2])"},
		{"b", 7, "b-any", ""},
		{"c", 1, "", `no entry for key "c" (keys: "a", "b")`},
	} {
		e, err := c.find(tc.key, tc.cycle)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.text, e.Text)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "moose-plugin-replay")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	cassette := filepath.Join(dir, "c.json")
	require.NoError(t, os.WriteFile(cassette, []byte(`{"entries":[{"key":"k","text":"x.go\n`+"```go\\npackage x\\n```"+`\n"}]}`), 0o644))
	sdktest.TestProposer(t, bin, sdktest.WithProposeRequest(&sdk.ProposeRequest{
		WorkOrder: &sdk.WorkOrder{Title: "k"},
		Variant:   &sdk.VariantConfig{BaseUrl: cassette},
	}))
}
