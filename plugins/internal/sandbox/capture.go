package sandbox

import (
	"fmt"
	"sync"
)

// capture is an io.Writer that keeps the first and last bytes of a stream and counts the
// rest, so a flood of output costs bounded memory.
type capture struct {
	mu      sync.Mutex
	headCap int
	tailCap int
	head    []byte
	tail    []byte
	total   int64
}

func newCapture(limit int) *capture {
	headCap := limit / 2
	return &capture{headCap: headCap, tailCap: limit - headCap}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	c.total += int64(n)
	if room := c.headCap - len(c.head); room > 0 {
		take := min(room, len(p))
		c.head = append(c.head, p[:take]...)
		p = p[take:]
	}
	if len(p) == 0 || c.tailCap == 0 {
		return n, nil
	}
	if len(p) >= c.tailCap {
		c.tail = append(c.tail[:0], p[len(p)-c.tailCap:]...)
		return n, nil
	}
	c.tail = append(c.tail, p...)
	// Trim lazily: at most 2x the tail is held, and the copy is amortised.
	if len(c.tail) > 2*c.tailCap {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-c.tailCap:]...)
	}
	return n, nil
}

// result returns the kept text and the number of bytes dropped from the middle.
func (c *capture) result() (string, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := c.tail
	if len(tail) > c.tailCap {
		tail = tail[len(tail)-c.tailCap:]
	}
	kept := int64(len(c.head) + len(tail))
	dropped := c.total - kept
	if dropped <= 0 {
		return string(c.head) + string(tail), 0
	}
	marker := fmt.Sprintf("\n... [sandbox: %d bytes of output dropped] ...\n", dropped)
	return string(c.head) + marker + string(tail), dropped
}
