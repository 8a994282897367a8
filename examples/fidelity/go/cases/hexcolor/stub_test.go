package hexcolor

import "testing"

func TestString(t *testing.T) {
	if got := (Color{255, 136, 0}).String(); got != "#ff8800" {
		t.Fatalf("String = %q", got)
	}
}
