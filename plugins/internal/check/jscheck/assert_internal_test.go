package jscheck

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAssertionFindingsInOutput(t *testing.T) {
	t.Parallel()
	for name, log := range map[string]string{
		"node":   "ok 1 - works\nAssertion failed: sum is wrong\n# pass 1\n",
		"vitest": "stderr | test/a.test.ts > adds\nAssertion failed\n\n ✓ test/a.test.ts (1 test)\n",
		"jest":   "  console.assert\n    AssertionError [ERR_ASSERTION]: sum is wrong\n\n      at Object.<anonymous> (a.test.js:3:11)\n",
	} {
		fs := assertionFindings(log)
		require.Len(t, fs, 1, name)
		require.Equal(t, CategoryFailedAssertion, fs[0].Category)
	}
	require.Empty(t, assertionFindings("PASS test/a.test.ts\n  ✓ adds (2 ms)\n"))
}
