// Package percent computes shares.
package percent

// Percent returns part as a whole-number percentage of whole, or 0 when
// whole is 0.
func Percent(part, whole int) int {
	if whole == 0 {
		return 0
	}
	return part * 100 / whole
}
