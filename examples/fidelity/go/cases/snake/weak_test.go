package snake

import "testing"

func TestToSnakeNotEmptyForEmpty(t *testing.T) {
	if got := ToSnake(""); len(got) > 0 {
		t.Fatalf("ToSnake(\"\") = %q", got)
	}
}
