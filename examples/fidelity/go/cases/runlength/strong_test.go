package runlength

import "testing"

func TestEncode(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "a": "1a", "aaab": "3a1b", "abc": "1a1b1c", "aabbaa": "2a2b2a", "zzzzzzzzzzzz": "12z", "ééx": "2é1x",
	} {
		if got := Encode(in); got != want {
			t.Errorf("Encode(%q) = %q, want %q", in, got, want)
		}
	}
}
