// Package pager splits result lists into pages.
package pager

// PageCount returns how many pages of size items hold total items.
func PageCount(total, size int) int {
	if size <= 0 || total <= 0 {
		return 0
	}
	return total/size + 1
}
