package wrap

import (
	"reflect"
	"testing"
)

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  []string
	}{
		{"the quick brown fox", 10, []string{"the quick", "brown fox"}},
		{"the quick brown fox", 9, []string{"the quick", "brown fox"}},
		{"the quick brown fox", 8, []string{"the", "quick", "brown", "fox"}},
		{"a b c", 3, []string{"a b", "c"}},
		{"a b c", 5, []string{"a b c"}},
		{"extraordinary day", 4, []string{"extraordinary", "day"}},
		{"   ", 10, nil},
		{"", 10, nil},
	} {
		if got := Wrap(c.s, c.width); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
	}
}
