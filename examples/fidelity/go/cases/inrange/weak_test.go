package inrange

import "testing"

func TestInRangeCalls(t *testing.T) {
	_ = InRange(10, 0, 10)
}
