package pager

import "testing"

func TestPageCountPartialPage(t *testing.T) {
	for _, c := range []struct{ total, size, want int }{{11, 5, 3}, {1, 5, 1}, {9, 10, 1}, {21, 10, 3}, {3, 2, 2}} {
		if got := PageCount(c.total, c.size); got != c.want {
			t.Errorf("PageCount(%d, %d) = %d, want %d", c.total, c.size, got, c.want)
		}
	}
}
