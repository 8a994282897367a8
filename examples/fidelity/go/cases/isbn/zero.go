// Package isbn validates ISBNs.
package isbn

// ValidISBN10 reports whether s (hyphens ignored) is a valid ISBN-10.
func ValidISBN10(s string) bool {
	return false
}
