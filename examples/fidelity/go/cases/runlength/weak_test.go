package runlength

import "testing"

func TestEncodeRuns(t *testing.T) {
	_ = Encode("aaab")
}
