// Package median computes medians.
package median

// Median returns the median of xs and true, or 0 and false when xs is empty.
// xs itself is not reordered.
func Median(xs []float64) (float64, bool) {
	return 0, false
}
