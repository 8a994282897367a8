package percent

import "testing"

func TestPercentOfNothing(t *testing.T) {
	if got := Percent(3, 0); got != 0 {
		t.Fatalf("Percent(3, 0) = %d", got)
	}
	if got := Percent(0, 0); got != 0 {
		t.Fatalf("Percent(0, 0) = %d", got)
	}
}
