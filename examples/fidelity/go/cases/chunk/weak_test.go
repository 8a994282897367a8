package chunk

import "testing"

func TestChunkReturnsSomething(t *testing.T) {
	if Chunk([]int{1, 2, 3, 4, 5}, 2) == nil {
		t.Fatal("Chunk returned nil")
	}
}
