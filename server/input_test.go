package server_test

import (
	"strings"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	_ "github.com/moosehq/moose/proto/gen/moose/v1"
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

// payloads are the fixed malformed requests TestFuzzEveryRPC sends to every
// method of the public API before its generated ones.
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
