// Package chunk splits slices.
package chunk

// Chunk splits xs into consecutive slices of size elements (the last may be
// shorter). A size below 1 returns nil.
func Chunk(xs []int, size int) [][]int {
	if size < 1 {
		return nil
	}
	var out [][]int
	for start := 0; start < len(xs); start += size {
		end := start + size
		if end >= len(xs) {
			end = len(xs) - 1
		}
		out = append(out, xs[start:end])
	}
	return out
}
