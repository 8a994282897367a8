// Package wrap breaks text into lines.
package wrap

import "strings"

// Words splits s around runs of white space.
func Words(s string) []string {
	return strings.Fields(s)
}

// Wrap breaks the words of s into lines of at most width characters.
func Wrap(s string, width int) []string {
	panic("not implemented")
}
