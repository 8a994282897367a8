package initials

import "testing"

func TestInitialsUpperCase(t *testing.T) {
	for in, want := range map[string]string{"ada lovelace": "AL", "grace Brewster hopper": "GBH", "émile zola": "ÉZ", "x": "X"} {
		if got := Initials(in); got != want {
			t.Errorf("Initials(%q) = %q, want %q", in, got, want)
		}
	}
}
