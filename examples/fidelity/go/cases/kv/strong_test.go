package kv

import (
	"reflect"
	"testing"
)

func TestParseKV(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
	}{
		{"a=1, b=2", map[string]string{"a": "1", "b": "2"}},
		{" a = x y ,b=", map[string]string{"a": "x y", "b": ""}},
		{"url=http://h/?q=1", map[string]string{"url": "http://h/?q=1"}},
		{"a=1,,", map[string]string{"a": "1"}},
		{"", map[string]string{}},
	} {
		got, err := ParseKV(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseKV(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"a", "a=1, b", "=1", " = 2"} {
		if got, err := ParseKV(bad); err == nil {
			t.Errorf("ParseKV(%q) = %v, want an error", bad, got)
		}
	}
}
