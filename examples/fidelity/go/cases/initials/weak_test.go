package initials

import "testing"

func TestInitialsLength(t *testing.T) {
	if got := Initials("ada lovelace"); len(got) > 2 {
		t.Fatalf("Initials = %q", got)
	}
}
