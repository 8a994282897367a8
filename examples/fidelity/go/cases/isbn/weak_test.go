package isbn

import "testing"

func TestValidISBN10Short(t *testing.T) {
	if ValidISBN10("123") {
		t.Fatal("too short")
	}
}
