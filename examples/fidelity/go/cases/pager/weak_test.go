package pager

import "testing"

func TestPageCountPositive(t *testing.T) {
	if PageCount(11, 5) < 0 {
		t.Fatal("negative")
	}
}
