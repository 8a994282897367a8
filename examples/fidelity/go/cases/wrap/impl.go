// Package wrap breaks text into lines.
package wrap

import "strings"

// Words splits s around runs of white space.
func Words(s string) []string {
	return strings.Fields(s)
}

// Wrap breaks the words of s into lines of at most width characters; a word
// longer than width gets a line of its own.
func Wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range Words(s) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
