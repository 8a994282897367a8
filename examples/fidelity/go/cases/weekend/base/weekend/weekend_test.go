package weekend

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestIsWeekend(t *testing.T) {
	for d, want := range map[string]bool{"2024-03-02": true, "2024-03-04": false, "2024-03-01": false, "2024-03-06": false} {
		if got := IsWeekend(day(d)); got != want {
			t.Errorf("IsWeekend(%s) = %v, want %v", d, got, want)
		}
	}
}

func TestAddWorkdays(t *testing.T) {
	if got := AddWorkdays(day("2024-03-04"), 3); !got.Equal(day("2024-03-07")) {
		t.Errorf("Monday + 3 = %s", got.Format("2006-01-02"))
	}
	if got := AddWorkdays(day("2024-03-04"), 0); !got.Equal(day("2024-03-04")) {
		t.Errorf("Monday + 0 = %s", got.Format("2006-01-02"))
	}
}
