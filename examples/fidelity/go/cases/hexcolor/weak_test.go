package hexcolor

import "testing"

func TestParseHexBad(t *testing.T) {
	if _, ok := ParseHex("nope"); ok {
		t.Fatal("parsed nonsense")
	}
}
