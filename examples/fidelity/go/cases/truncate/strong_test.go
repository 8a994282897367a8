package truncate

import "testing"

func TestTruncateRunes(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"héllo", 2, "hé…"}, {"héllo", 5, "héllo"}, {"héllo", 4, "héll…"}, {"日本語", 1, "日…"}, {"日本語", 3, "日本語"}, {"ééé", 4, "ééé"},
	} {
		if got := Truncate(c.s, c.n); got != c.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
