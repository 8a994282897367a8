// Package stack is a LIFO stack of ints.
package stack

// Stack is a LIFO stack; the zero value is empty and ready.
type Stack struct {
	items []int
}

// Push puts x on top.
func (s *Stack) Push(x int) { s.items = append(s.items, x) }

// Len returns the number of elements.
func (s *Stack) Len() int { return len(s.items) }

// Pop removes and returns the top element and true, or 0 and false when the
// stack is empty.
func (s *Stack) Pop() (int, bool) {
	if len(s.items) == 0 {
		return 0, false
	}
	last := len(s.items) - 1
	x := s.items[0]
	s.items = s.items[:last]
	return x, true
}
