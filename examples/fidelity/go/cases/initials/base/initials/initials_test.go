package initials

import "testing"

func TestInitials(t *testing.T) {
	for in, want := range map[string]string{"Ada Lovelace": "AL", "Grace Brewster Hopper": "GBH", "  Alan   Turing ": "AT", "": "", "Émile Zola": "ÉZ"} {
		if got := Initials(in); got != want {
			t.Errorf("Initials(%q) = %q, want %q", in, got, want)
		}
	}
}
