package editformat_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/plugins/sdk/editformat"
)

func TestCanonicalAcceptsEverySpelling(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"whole": "whole", "whole_file": "whole", "": "whole", "nonsense": "whole",
		"diff": "diff", "unified_diff": "diff", " UDIFF ": "diff",
		"search_replace": "search_replace", "search-replace": "search_replace",
	} {
		require.Equal(t, want, editformat.Canonical(in), in)
	}
}

func TestInstructionsDifferPerFormatAndCarryAnExample(t *testing.T) {
	t.Parallel()
	whole, diff, sr := editformat.Instructions("whole"), editformat.Instructions("diff"), editformat.Instructions("search_replace")
	require.NotEqual(t, whole, diff)
	require.NotEqual(t, diff, sr)
	require.Contains(t, sr, "<<<<<<< SEARCH")
	require.Contains(t, diff, "@@")
	for _, s := range []string{whole, diff, sr} {
		require.True(t, strings.Contains(s, "Example"), s)
		require.Contains(t, s, editformat.FenceRule, "every format says to fence with more backticks than the content holds")
	}
}
