package stack

import "testing"

func TestPopEmpty(t *testing.T) {
	var s Stack
	if _, ok := s.Pop(); ok {
		t.Fatal("empty stack popped")
	}
}
