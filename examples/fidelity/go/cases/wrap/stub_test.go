package wrap

import "testing"

func TestWords(t *testing.T) {
	if got := Words("  a  b "); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Words = %q", got)
	}
}
