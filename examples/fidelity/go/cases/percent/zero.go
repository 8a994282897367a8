// Package percent computes shares.
package percent

// Percent returns part as a whole-number percentage of whole, or 0 when
// whole is 0.
func Percent(part, whole int) int {
	return 0
}
