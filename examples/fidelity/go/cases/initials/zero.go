// Package initials abbreviates names.
package initials

// Initials returns the upper-cased first letter of every word of name.
func Initials(name string) string {
	return ""
}
