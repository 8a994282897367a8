// Package snake converts identifiers to snake_case.
package snake

import (
	"strings"
	"unicode"
)

// ToSnake converts a camelCase or PascalCase identifier to snake_case.
func ToSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i >= 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
