package weekend

import "testing"

func TestSundayIsWeekend(t *testing.T) {
	if !IsWeekend(day("2024-03-03")) || !IsWeekend(day("2024-03-02")) || IsWeekend(day("2024-03-04")) {
		t.Fatal("Saturday and Sunday are the weekend, Monday is not")
	}
	if got := AddWorkdays(day("2024-03-01"), 1); !got.Equal(day("2024-03-04")) {
		t.Errorf("Friday + 1 = %s, want Monday", got.Format("2006-01-02"))
	}
}
