// Package hexcolor reads and writes CSS hex colours.
package hexcolor

import "fmt"

// Color is an RGB colour.
type Color struct{ R, G, B uint8 }

// String writes c as "#rrggbb".
func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// ParseHex parses "#rrggbb" or "#rgb" (hex digits in either case).
func ParseHex(s string) (Color, bool) {
	if len(s) == 0 || s[0] != '#' {
		return Color{}, false
	}
	s = s[1:]
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	if len(s) != 6 {
		return Color{}, false
	}
	var v [3]uint8
	for i := 0; i < 6; i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			return Color{}, false
		}
		v[i/2] = v[i/2]*16 + d
	}
	return Color{v[0], v[1], v[2]}, true
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 9, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
