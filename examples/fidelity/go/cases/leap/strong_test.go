package leap

import "testing"

func TestIsLeap(t *testing.T) {
	for year, want := range map[int]bool{2000: true, 1900: false, 2024: true, 2023: false, 2100: false, 2400: true, 1996: true} {
		if got := IsLeap(year); got != want {
			t.Errorf("IsLeap(%d) = %v, want %v", year, got, want)
		}
	}
}

func TestDaysInMonth(t *testing.T) {
	for _, c := range []struct{ year, month, want int }{
		{2023, 1, 31}, {2023, 2, 28}, {2024, 2, 29}, {1900, 2, 28}, {2000, 2, 29},
		{2023, 4, 30}, {2023, 12, 31}, {2023, 11, 30}, {2023, 0, 0}, {2023, 13, 0},
	} {
		if got := DaysInMonth(c.year, c.month); got != c.want {
			t.Errorf("DaysInMonth(%d, %d) = %d, want %d", c.year, c.month, got, c.want)
		}
	}
}
