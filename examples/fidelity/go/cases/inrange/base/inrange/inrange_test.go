package inrange

import "testing"

func TestInRange(t *testing.T) {
	for _, c := range []struct {
		x, lo, hi int
		want      bool
	}{
		{5, 0, 10, true}, {0, 0, 10, true}, {-1, 0, 10, false}, {11, 0, 10, false}, {50, 0, 10, false}, {5, 10, 0, false},
	} {
		if got := InRange(c.x, c.lo, c.hi); got != c.want {
			t.Errorf("InRange(%d, %d, %d) = %v, want %v", c.x, c.lo, c.hi, got, c.want)
		}
	}
}
