package interval

import "testing"

func TestOverlapsApart(t *testing.T) {
	if Overlaps(Interval{1, 2}, Interval{5, 6}) {
		t.Fatal("apart intervals overlap")
	}
}
