// Package weekend does working-day arithmetic.
package weekend

import "time"

// IsWeekend reports whether t falls on a Saturday or a Sunday.
func IsWeekend(t time.Time) bool {
	return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
}

// AddWorkdays returns the date n working days after t (n >= 0).
func AddWorkdays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if !IsWeekend(t) {
			n--
		}
	}
	return t
}
