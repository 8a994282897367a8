package interval

import "testing"

func TestOverlaps(t *testing.T) {
	for _, c := range []struct {
		a, b Interval
		want bool
	}{
		{Interval{1, 4}, Interval{3, 6}, true},
		{Interval{3, 6}, Interval{1, 4}, true},
		{Interval{1, 3}, Interval{3, 5}, false},
		{Interval{3, 5}, Interval{1, 3}, false},
		{Interval{1, 10}, Interval{4, 5}, true},
		{Interval{4, 5}, Interval{1, 10}, true},
		{Interval{1, 2}, Interval{5, 6}, false},
		{Interval{4, 4}, Interval{1, 10}, false},
		{Interval{1, 10}, Interval{6, 2}, false},
		{Interval{2, 3}, Interval{2, 3}, true},
	} {
		if got := Overlaps(c.a, c.b); got != c.want {
			t.Errorf("Overlaps(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
