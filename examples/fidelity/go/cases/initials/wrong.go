// Package initials abbreviates names.
package initials

import "strings"

// Initials returns the upper-cased first letter of every word of name.
func Initials(name string) string {
	var b strings.Builder
	for _, w := range strings.Fields(name) {
		b.WriteString(strings.ToUpper(w[:1]))
	}
	return b.String()
}
