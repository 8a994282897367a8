package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscapeVerb(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"/v1/workorders/{id}:approve", "/v1/workorders/{id}%3Aapprove"},
		{"/v1/datasets:export", "/v1/datasets%3Aexport"},
		{"/v1/plugins/{kind}/{name}/{version}:reload", "/v1/plugins/{kind}/{name}/{version}%3Areload"},
		{"/v1/workorders/{id}", "/v1/workorders/{id}"},
		{"/v1/workorders/{id}/events", "/v1/workorders/{id}/events"},
		// Only the last segment carries a verb, and never inside a parameter.
		{"/v1/a:b/{id}", "/v1/a:b/{id}"},
		{"/v1/{name:x}", "/v1/{name:x}"},
	} {
		require.Equal(t, tc.want, escapeVerb(tc.in), tc.in)
	}
}
