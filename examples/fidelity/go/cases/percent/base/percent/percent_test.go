package percent

import "testing"

func TestPercent(t *testing.T) {
	for _, c := range []struct{ part, whole, want int }{{1, 3, 33}, {1, 2, 50}, {3, 3, 100}, {0, 7, 0}, {5, 4, 125}, {2, 200, 1}} {
		if got := Percent(c.part, c.whole); got != c.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", c.part, c.whole, got, c.want)
		}
	}
}
