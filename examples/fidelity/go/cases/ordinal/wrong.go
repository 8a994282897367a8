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

// Ordinal writes n with its English ordinal suffix (1st, 2nd, 3rd, 11th).
func Ordinal(n int) string {
	m := n
	if m < 0 {
		m = -m
	}
	suffix := "th"
	if m%100 < 11 || m%100 >= 13 {
		switch m % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}
