package server

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/moosehq/moose/proto/gen/moose/v1"
)

// TestEveryMethodHasAScope: the scope table covers exactly the public API, so
// a new RPC cannot be served without a decision about who may call it.
func TestEveryMethodHasAScope(t *testing.T) {
	t.Parallel()
	served := map[string]bool{}
	protoregistry.GlobalFiles.RangeFilesByPackage("moose.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				served["/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name())] = true
			}
		}
		return true
	})
	require.Greater(t, len(served), 30)
	for m := range served {
		_, ok := methodScopes[m]
		require.True(t, ok, "%s has no scope in methodScopes", m)
	}
	for m := range methodScopes {
		require.True(t, served[m], "methodScopes names %s, which is not served", m)
	}
}
