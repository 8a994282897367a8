// Package truncate shortens text for display.
package truncate

// Truncate keeps the first n characters of s, adding "…" when it cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
