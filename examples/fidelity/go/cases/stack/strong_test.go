package stack

import "testing"

func TestPop(t *testing.T) {
	var s Stack
	if x, ok := s.Pop(); x != 0 || ok {
		t.Fatalf("empty Pop = %d, %v", x, ok)
	}
	s.Push(1)
	s.Push(2)
	s.Push(3)
	for _, want := range []int{3, 2} {
		if x, ok := s.Pop(); x != want || !ok {
			t.Fatalf("Pop = %d, %v; want %d, true", x, ok, want)
		}
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d after two pops of three", s.Len())
	}
	s.Push(4)
	for _, want := range []int{4, 1} {
		if x, ok := s.Pop(); x != want || !ok {
			t.Fatalf("Pop = %d, %v; want %d, true", x, ok, want)
		}
	}
	if x, ok := s.Pop(); x != 0 || ok || s.Len() != 0 {
		t.Fatalf("Pop of emptied stack = %d, %v (len %d)", x, ok, s.Len())
	}
}
