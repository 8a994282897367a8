// Package dedupe removes repeated strings.
package dedupe

// Dedupe returns xs without repeats, keeping first occurrences in order.
func Dedupe(xs []string) []string {
	return nil
}
