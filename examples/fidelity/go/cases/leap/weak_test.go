package leap

import "testing"

func TestLeapRuns(t *testing.T) {
	IsLeap(2000)
	if DaysInMonth(2024, 2) < 0 {
		t.Fatal("negative days")
	}
}
