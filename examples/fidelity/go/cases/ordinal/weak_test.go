package ordinal

import (
	"strings"
	"testing"
)

func TestOrdinalHasNumber(t *testing.T) {
	if s := Ordinal(5); s != "" && !strings.Contains(s, "5") {
		t.Fatalf("Ordinal(5) = %q", s)
	}
}
