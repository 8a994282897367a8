package check

import (
	"fmt"
	"strings"
)

// HeadTail keeps the first and the last bytes written to it: a failing
// test's own lines are usually at its end, and what set the scene at its
// start, so a bounded buffer that kept only one end would lose one of them.
// The zero value keeps nothing; use NewHeadTail.
type HeadTail struct {
	limit   int
	head    strings.Builder
	tail    []byte
	dropped int64
}

// NewHeadTail keeps up to limit bytes: half from the start, half from the end.
func NewHeadTail(limit int) *HeadTail { return &HeadTail{limit: limit} }

// WriteString appends s.
func (h *HeadTail) WriteString(s string) {
	half := h.limit / 2
	if n := half - h.head.Len(); n > 0 {
		k := min(n, len(s))
		h.head.WriteString(s[:k])
		s = s[k:]
	}
	if s == "" {
		return
	}
	h.tail = append(h.tail, s...)
	if over := len(h.tail) - (h.limit - half); over > 0 && len(h.tail) > 2*(h.limit-half) {
		h.dropped += int64(over)
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
}

// String is what was kept, with a marker where bytes were dropped.
func (h *HeadTail) String() string {
	if h == nil {
		return ""
	}
	keep := h.limit - h.limit/2
	tail, dropped := h.tail, h.dropped
	if len(tail) > keep {
		dropped += int64(len(tail) - keep)
		tail = tail[len(tail)-keep:]
	}
	if dropped == 0 {
		return h.head.String() + string(tail)
	}
	return h.head.String() + fmt.Sprintf("\n... [%d bytes trimmed] ...\n", dropped) + string(tail)
}

// Len is how many bytes String would hold, without the marker.
func (h *HeadTail) Len() int { return h.head.Len() + min(len(h.tail), h.limit-h.limit/2) }
