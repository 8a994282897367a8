package sumdigits

import "testing"

func TestSumDigits(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 0}, {7, 7}, {10, 1}, {123, 6}, {-123, 6}, {-9, 9}, {9999, 36}, {1002, 3}} {
		if got := SumDigits(c.n); got != c.want {
			t.Errorf("SumDigits(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
