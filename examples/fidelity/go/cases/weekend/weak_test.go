package weekend

import "testing"

func TestIsWeekendRuns(t *testing.T) {
	IsWeekend(day("2024-03-03"))
}
