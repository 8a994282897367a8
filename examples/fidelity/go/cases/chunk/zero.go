// Package chunk splits slices.
package chunk

// Chunk splits xs into consecutive slices of size elements (the last may be
// shorter). A size below 1 returns nil.
func Chunk(xs []int, size int) [][]int {
	return nil
}
