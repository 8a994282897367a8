package pager

import "testing"

func TestPageCount(t *testing.T) {
	for _, c := range []struct{ total, size, want int }{
		{10, 5, 2}, {20, 10, 2}, {5, 5, 1}, {100, 1, 100}, {0, 5, 0}, {-3, 5, 0}, {10, 0, 0}, {10, -2, 0},
	} {
		if got := PageCount(c.total, c.size); got != c.want {
			t.Errorf("PageCount(%d, %d) = %d, want %d", c.total, c.size, got, c.want)
		}
	}
}
