// Package runlength encodes runs of characters.
package runlength

import (
	"strconv"
	"strings"
)

// Encode writes every run of s as its length followed by its character.
func Encode(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		b.WriteString(strconv.Itoa(j - i))
		b.WriteRune(rs[i])
		i = j
	}
	return b.String()
}
