package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	_ "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/servertest"
)

// rawCodec sends bytes as they are, so a test can put any payload on the wire.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*(v.(*[]byte)))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

var _ encoding.CodecV2 = rawCodec{}

// payloads are the malformed requests sent to every method of the public API.
func payloads(in protoreflect.MessageDescriptor) map[string][]byte {
	out := map[string][]byte{
		"garbage":          []byte("\xff\xfe\xfd not protobuf at all \x00\x01"),
		"truncated varint": {0x08, 0x80, 0x80},
		"bad length":       {0x0a, 0x7f, 'a'},
	}
	fill := func(value func(protoreflect.FieldDescriptor) (protoreflect.Value, bool)) []byte {
		m := dynamicpb.NewMessage(in)
		fields := in.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if fd.IsMap() || fd.ContainingOneof() != nil && i > 0 {
				continue
			}
			v, ok := value(fd)
			if !ok {
				continue
			}
			if fd.IsList() {
				l := m.Mutable(fd).List()
				l.Append(v)
				continue
			}
			m.Set(fd, v)
		}
		b, _ := proto.MarshalOptions{}.Marshal(m)
		return b
	}
	str := func(s string) func(protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
		return func(fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
			switch fd.Kind() {
			case protoreflect.StringKind:
				return protoreflect.ValueOfString(s), true
			case protoreflect.Int32Kind:
				return protoreflect.ValueOfInt32(-5), true
			}
			return protoreflect.Value{}, false
		}
	}
	out["nul bytes"] = fill(str("name\x00with nul"))
	out["huge strings"] = fill(str(strings.Repeat("é", 512<<10)))
	// Invalid UTF-8 cannot go through a Go message; write the field by hand.
	fields := in.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); fd.Kind() == protoreflect.StringKind {
			tag := byte(fd.Number()<<3 | 2)
			if fd.Number() < 16 {
				out["invalid utf-8"] = []byte{tag, 4, 'a', 0xff, 0xfe, 'b'}
			}
			break
		}
	}
	return out
}

// TestBadInputIsNeverInternal sends malformed, NUL-laden, invalid UTF-8 and
// huge requests to every RPC of the public API: each answer is a client
// error with a bounded message, never Internal or Unknown.
func TestBadInputIsNeverInternal(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.APIOnly())
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })

	var methods int
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if fd.Package() != "moose.v1" {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				methods++
				full := "/" + string(sd.FullName()) + "/" + string(md.Name())
				for name, body := range payloads(md.Input()) {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					var err error
					if md.IsStreamingServer() {
						var st grpc.ClientStream
						st, err = conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, full)
						if err == nil {
							err = st.SendMsg(&body)
						}
						if err == nil {
							_ = st.CloseSend()
							var reply []byte
							err = st.RecvMsg(&reply)
						}
					} else {
						var reply []byte
						err = conn.Invoke(ctx, full, &body, &reply)
					}
					cancel()
					if err == nil {
						continue // a request that happens to be valid (all fields optional)
					}
					s := status.Convert(err)
					require.NotContains(t, []codes.Code{codes.Internal, codes.Unknown, codes.DataLoss}, s.Code(),
						"%s with %s: %s", full, name, s.Message())
					size := len(s.Message())
					for _, d := range s.Proto().GetDetails() {
						size += len(d.GetValue())
					}
					require.Less(t, size, 8<<10, "%s with %s: the error echoes %d bytes", full, name, size)
				}
			}
		}
		return true
	})
	require.Greater(t, methods, 20, "every public RPC was tried")
}
