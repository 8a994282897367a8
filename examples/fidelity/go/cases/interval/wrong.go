// Package interval works with half-open integer intervals.
package interval

// Interval is the half-open range [Start, End).
type Interval struct{ Start, End int }

// Len returns the number of points of iv (0 when empty).
func (iv Interval) Len() int {
	if iv.End <= iv.Start {
		return 0
	}
	return iv.End - iv.Start
}

// Overlaps reports whether a and b share a point.
func Overlaps(a, b Interval) bool {
	if a.Len() == 0 || b.Len() == 0 {
		return false
	}
	return a.Start <= b.End && b.Start <= a.End
}
