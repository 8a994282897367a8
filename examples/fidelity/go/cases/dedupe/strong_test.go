package dedupe

import (
	"reflect"
	"testing"
)

func TestDedupe(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"a", "b", "a", "c", "b"}, []string{"a", "b", "c"}},
		{[]string{"x", "x", "x"}, []string{"x"}},
		{[]string{"A", "a"}, []string{"A", "a"}},
		{[]string{"q"}, []string{"q"}},
		{nil, []string{}},
	} {
		if got := Dedupe(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Dedupe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
