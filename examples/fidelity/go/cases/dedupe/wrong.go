// Package dedupe removes repeated strings.
package dedupe

// Dedupe returns xs without repeats, keeping first occurrences in order.
func Dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, x)
	}
	return out
}
