// Package hexcolor reads and writes CSS hex colours.
package hexcolor

import "fmt"

// Color is an RGB colour.
type Color struct{ R, G, B uint8 }

// String writes c as "#rrggbb".
func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// ParseHex parses "#rrggbb" or "#rgb".
func ParseHex(s string) (Color, bool) {
	return Color{}, false
}
