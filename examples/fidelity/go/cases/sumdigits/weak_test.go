package sumdigits

import "testing"

func TestSumDigitsDoesNotPanic(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("SumDigits panicked: %v", r)
		}
	}()
	SumDigits(-123)
}
