package interval

import "testing"

func TestLen(t *testing.T) {
	if (Interval{2, 5}).Len() != 3 || (Interval{5, 2}).Len() != 0 {
		t.Fatal("Len")
	}
}
