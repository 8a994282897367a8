package roman

import "testing"

func TestToRoman(t *testing.T) {
	_ = ToRoman(1994)
	_ = ToRoman(0)
}
