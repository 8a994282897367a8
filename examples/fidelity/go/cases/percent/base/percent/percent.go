// Package percent computes shares.
package percent

// Percent returns part as a whole-number percentage of whole.
func Percent(part, whole int) int {
	return part * 100 / whole
}
