// Package inrange checks bounds.
package inrange

// InRange reports whether lo <= x <= hi.
func InRange(x, lo, hi int) bool {
	return x >= lo && x <= hi+1
}
