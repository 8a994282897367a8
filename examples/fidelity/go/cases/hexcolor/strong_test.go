package hexcolor

import "testing"

func TestParseHex(t *testing.T) {
	for s, want := range map[string]Color{
		"#ff8800": {255, 136, 0}, "#FF8800": {255, 136, 0}, "#f80": {255, 136, 0}, "#000000": {0, 0, 0},
		"#09afAF": {9, 175, 175}, "#123": {0x11, 0x22, 0x33}, "#abcdef": {0xab, 0xcd, 0xef}, "#ABCDEF": {0xab, 0xcd, 0xef},
	} {
		if got, ok := ParseHex(s); !ok || got != want {
			t.Errorf("ParseHex(%q) = %v, %v; want %v, true", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "#", "ff8800", "#ff880", "#ff88000", "#gg8800", "#ff88 0", "#ff880g", "#G00", "#/00", "#:00"} {
		if got, ok := ParseHex(s); ok || got != (Color{}) {
			t.Errorf("ParseHex(%q) = %v, %v; want zero, false", s, got, ok)
		}
	}
}
