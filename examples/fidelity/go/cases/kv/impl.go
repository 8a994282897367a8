// Package kv reads and writes key=value lists.
package kv

import (
	"fmt"
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

// ParseKV parses comma-separated key=value pairs; spaces around keys and
// values are trimmed and empty items skipped.
func ParseKV(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("kv: bad item %q", item)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}
