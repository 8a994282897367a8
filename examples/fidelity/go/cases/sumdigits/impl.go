// Package sumdigits adds up decimal digits.
package sumdigits

// SumDigits returns the sum of the decimal digits of n, ignoring its sign.
func SumDigits(n int) int {
	if n < 0 {
		n = -n
	}
	sum := 0
	for n > 0 {
		sum += n % 10
		n /= 10
	}
	return sum
}
