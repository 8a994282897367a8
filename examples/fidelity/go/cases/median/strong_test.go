package median

import (
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
		ok   bool
	}{
		{[]float64{3, 1, 2}, 2, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
		{[]float64{5}, 5, true},
		{[]float64{1, 10}, 5.5, true},
		{[]float64{-3, -1, -2, 8, 100}, -1, true},
		{nil, 0, false},
	} {
		in := slices.Clone(c.xs)
		got, ok := Median(c.xs)
		if got != c.want || ok != c.ok {
			t.Errorf("Median(%v) = %v, %v; want %v, %v", in, got, ok, c.want, c.ok)
		}
		if !slices.Equal(in, c.xs) {
			t.Errorf("Median reordered its input: %v", c.xs)
		}
	}
}
