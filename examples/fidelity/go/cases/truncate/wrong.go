// Package truncate shortens text for display.
package truncate

// Truncate keeps the first n characters (runes) of s, adding "…" when it cut.
func Truncate(s string, n int) string {
	rs := []rune(s)
	if len(s) <= n {
		return s
	}
	return string(rs[:n]) + "…"
}
