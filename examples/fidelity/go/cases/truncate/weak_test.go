package truncate

import (
	"testing"
	"unicode/utf8"
)

func TestTruncateValidUTF8(t *testing.T) {
	if got := Truncate("héllo", 10); !utf8.ValidString(got) {
		t.Fatalf("invalid UTF-8: %q", got)
	}
}
