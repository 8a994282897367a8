package kv

import "testing"

func TestParseKVRuns(t *testing.T) {
	_, _ = ParseKV("a=1, b=2")
}
