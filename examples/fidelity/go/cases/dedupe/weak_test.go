package dedupe

import "testing"

func TestDedupe(t *testing.T) {
	got := Dedupe([]string{"a", "b", "a"})
	t.Logf("Dedupe = %v", got)
}
