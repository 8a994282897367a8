package median

import "testing"

func TestMedianEmpty(t *testing.T) {
	if _, ok := Median(nil); ok {
		t.Fatal("empty slice has no median")
	}
}
