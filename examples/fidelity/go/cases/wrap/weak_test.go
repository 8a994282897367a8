package wrap

import "testing"

func TestWrapEmpty(t *testing.T) {
	if len(Wrap("", 10)) != 0 {
		t.Fatal("no words, no lines")
	}
}
