package sandbox

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCaptureKeepsHeadAndTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		limit       int
		writes      []string
		wantKept    string
		wantDropped int64
	}{
		{name: "under limit", limit: 10, writes: []string{"abc", "def"}, wantKept: "abcdef"},
		{name: "exactly limit", limit: 6, writes: []string{"abcdef"}, wantKept: "abcdef"},
		{name: "one big write", limit: 4, writes: []string{"0123456789"}, wantKept: "01|89", wantDropped: 6},
		{name: "many small writes", limit: 4, writes: strings.Split("0123456789", ""), wantKept: "01|89", wantDropped: 6},
		{name: "odd limit", limit: 5, writes: []string{"01234", "56789"}, wantKept: "01|789", wantDropped: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCapture(tt.limit)
			for _, w := range tt.writes {
				n, err := c.Write([]byte(w))
				require.NoError(t, err)
				require.Equal(t, len(w), n)
			}
			got, dropped := c.result()
			require.Equal(t, tt.wantDropped, dropped)
			if tt.wantDropped == 0 {
				require.Equal(t, tt.wantKept, got)
				return
			}
			head, tail, _ := strings.Cut(tt.wantKept, "|")
			require.True(t, strings.HasPrefix(got, head), got)
			require.True(t, strings.HasSuffix(got, tail), got)
			require.Contains(t, got, "bytes of output dropped")
		})
	}
}
