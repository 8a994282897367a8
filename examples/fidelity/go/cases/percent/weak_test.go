package percent

import "testing"

func TestPercentDoesNotPanic(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatal(r)
		}
	}()
	Percent(3, 0)
}
