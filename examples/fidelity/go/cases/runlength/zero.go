// Package runlength encodes runs of characters.
package runlength

// Encode writes every run of s as its length followed by its character.
func Encode(s string) string {
	return ""
}
