package ordinal

import "testing"

func TestPlural(t *testing.T) {
	if Plural(1, "cat") != "1 cat" || Plural(3, "cat") != "3 cats" {
		t.Fatal("Plural")
	}
}
