package isbn

import "testing"

func TestValidISBN10(t *testing.T) {
	for s, want := range map[string]bool{
		"0-306-40615-2": true, "0306406152": true, "080442957X": true, "0-8044-2957-X": true,
		"0306406153": false, "030640615": false, "03064061522": false, "X306406152": false,
		"03064061X2": false, "0a06406152": false, "": false, "0000000000": true, "1111111111": true, "1111111112": false,
	} {
		if got := ValidISBN10(s); got != want {
			t.Errorf("ValidISBN10(%q) = %v, want %v", s, got, want)
		}
	}
}
