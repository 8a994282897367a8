// Package ordinal writes English number words.
package ordinal

import "strconv"

// Plural writes n and word, adding an "s" unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// Ordinal writes n with its ordinal suffix.
func Ordinal(n int) string {
	return ""
}
