package inrange

import "testing"

func TestInRangeUpperBound(t *testing.T) {
	if !InRange(10, 0, 10) || !InRange(3, 3, 3) || InRange(11, 0, 10) || InRange(4, 3, 3) {
		t.Fatal("the upper bound is included, nothing beyond it")
	}
}
