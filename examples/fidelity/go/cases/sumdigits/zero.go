// Package sumdigits adds up decimal digits.
package sumdigits

// SumDigits returns the sum of the decimal digits of n, ignoring its sign.
func SumDigits(n int) int {
	return 0
}
