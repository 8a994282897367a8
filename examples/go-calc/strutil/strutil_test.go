package strutil_test

import (
	"testing"

	"example.com/gocalc/strutil"
)

func TestReverse(t *testing.T) {
	for in, want := range map[string]string{"": "", "abc": "cba", "héllo": "olléh"} {
		if got := strutil.Reverse(in); got != want {
			t.Errorf("Reverse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsPalindrome(t *testing.T) {
	if !strutil.IsPalindrome("Never odd or even") {
		t.Error("want palindrome")
	}
	if strutil.IsPalindrome("moose") {
		t.Error("moose is not a palindrome")
	}
}

func TestWordCount(t *testing.T) {
	if got := strutil.WordCount("  the quick  brown fox "); got != 4 {
		t.Errorf("WordCount = %d, want 4", got)
	}
}
