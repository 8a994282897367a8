// Package leap does calendar arithmetic.
package leap

// IsLeap reports whether year is a Gregorian leap year.
func IsLeap(year int) bool {
	return false
}

// DaysInMonth returns the number of days of month (1–12) in year, or 0.
func DaysInMonth(year, month int) int {
	return 0
}
