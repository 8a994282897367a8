package chunk

import (
	"reflect"
	"testing"
)

func TestChunk(t *testing.T) {
	for _, c := range []struct {
		xs   []int
		size int
		want [][]int
	}{
		{[]int{1, 2, 3, 4, 5}, 2, [][]int{{1, 2}, {3, 4}, {5}}},
		{[]int{1, 2, 3, 4}, 2, [][]int{{1, 2}, {3, 4}}},
		{[]int{1, 2, 3}, 3, [][]int{{1, 2, 3}}},
		{[]int{1, 2}, 5, [][]int{{1, 2}}},
		{[]int{1}, 1, [][]int{{1}}},
		{nil, 2, nil},
		{[]int{1, 2}, 0, nil},
		{[]int{1, 2}, -1, nil},
	} {
		if got := Chunk(c.xs, c.size); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Chunk(%v, %d) = %v, want %v", c.xs, c.size, got, c.want)
		}
	}
}
