// Package snake converts identifiers to snake_case.
package snake

// ToSnake converts a camelCase or PascalCase identifier to snake_case.
func ToSnake(s string) string {
	return ""
}
