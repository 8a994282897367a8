package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Bad input is refused at the API edge, in one place for gRPC and REST (the
// gateway calls the gRPC server), as InvalidArgument: a request that does not
// decode, and any string field holding a NUL byte or invalid UTF-8 (which
// PostgreSQL would refuse with an error moosed would otherwise report as
// Internal). Error messages are capped so that no call echoes back more than
// a few hundred bytes of what it was sent.

const (
	// maxStatusMessage caps the message of every status a call returns.
	maxStatusMessage = 512
	// maxViolationText caps each field violation's description.
	maxViolationText = 240
)

// undecodable records requests the codec could not decode, so that the
// interceptors can answer InvalidArgument: grpc-go reports a codec's
// failure as Internal, which would blame moosed for the client's bytes.
var undecodable sync.Map // proto.Message → error

// lenientCodec is the proto codec, except that a message that does not
// unmarshal is left empty and remembered instead of failing the call inside
// grpc-go, and that replies are marshalled into buffers of their own size.
// (grpc-go's pool rounds a buffer up to a power-of-two tier: a 1.1 KiB event
// took 4 KiB, and every watch stream's transport queues up to 64 KiB of
// replies for a reader that does not read, so that was 256 KiB a stream.)
type lenientCodec struct{ base encoding.CodecV2 }

func newLenientCodec() lenientCodec { return lenientCodec{base: encoding.GetCodecV2("proto")} }

func (c lenientCodec) Name() string { return c.base.Name() }

func (c lenientCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return c.base.Marshal(v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (c lenientCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	proto.Reset(m)
	undecodable.Store(m, err)
	return nil
}

// decodeError reports (and forgets) whether req failed to decode.
func decodeError(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	v, ok := undecodable.LoadAndDelete(m)
	if !ok {
		return nil
	}
	return status.Error(codes.InvalidArgument, truncate("the request is not a valid protobuf message: "+v.(error).Error(), maxStatusMessage))
}

// checkInput refuses a request that did not decode or whose strings cannot
// be stored.
func checkInput(req any) error {
	if err := decodeError(req); err != nil {
		return err
	}
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	var bad []*errdetails.BadRequest_FieldViolation
	walkStrings(m.ProtoReflect(), "", func(field, s string) {
		if len(bad) >= 10 {
			return
		}
		switch {
		case !utf8.ValidString(s):
			bad = append(bad, &errdetails.BadRequest_FieldViolation{Field: field, Description: "is not valid UTF-8"})
		case strings.IndexByte(s, 0) >= 0:
			bad = append(bad, &errdetails.BadRequest_FieldViolation{Field: field, Description: "contains a NUL byte"})
		}
	})
	// One page-size rule for every list call.
	if fd := m.ProtoReflect().Descriptor().Fields().ByName("page_size"); fd != nil && fd.Kind() == protoreflect.Int32Kind {
		if n := m.ProtoReflect().Get(fd).Int(); n < 0 {
			bad = append(bad, &errdetails.BadRequest_FieldViolation{Field: "page_size", Description: "must not be negative"})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	st := status.New(codes.InvalidArgument, fmt.Sprintf("invalid request: %s %s", bad[0].Field, bad[0].Description))
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: bad}); err == nil {
		st = d
	}
	return st.Err()
}

// walkStrings calls f for every string (field, list element, map key or
// value) in m, with the field's path.
func walkStrings(m protoreflect.Message, prefix string, f func(field, s string)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visit(fd, l.Get(i), fmt.Sprintf("%s[%d]", name, i), f)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if ks, ok := k.Interface().(string); ok {
					f(name+" key", ks)
				}
				visit(fd.MapValue(), mv, name+"["+truncate(k.String(), 40)+"]", f)
				return true
			})
		default:
			visit(fd, v, name, f)
		}
		return true
	})
}

func visit(fd protoreflect.FieldDescriptor, v protoreflect.Value, name string, f func(field, s string)) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		f(name, v.String())
	case protoreflect.MessageKind, protoreflect.GroupKind:
		walkStrings(v.Message(), name+".", f)
	}
}

// boundStatus caps an error's message and its field violations.
func boundStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	p := st.Proto()
	changed := false
	if len(p.GetMessage()) > maxStatusMessage || !utf8.ValidString(p.GetMessage()) {
		p.Message = truncate(p.GetMessage(), maxStatusMessage)
		changed = true
	}
	for _, d := range p.GetDetails() {
		var br errdetails.BadRequest
		if d.MessageIs(&br) && d.UnmarshalTo(&br) == nil {
			long := false
			for _, v := range br.GetFieldViolations() {
				if len(v.GetDescription()) > maxViolationText || len(v.GetField()) > maxViolationText {
					v.Description = truncate(v.GetDescription(), maxViolationText)
					v.Field = truncate(v.GetField(), maxViolationText)
					long = true
				}
			}
			if long {
				if err := d.MarshalFrom(&br); err == nil {
					changed = true
				}
			}
		}
	}
	if !changed {
		return err
	}
	return status.FromProto(p).Err()
}

// truncate keeps at most n bytes of s, cut at a rune boundary and made valid
// UTF-8, marking the cut.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… [%d bytes cut]", len(s)-cut)
}

// inputUnary refuses bad input and bounds every error message.
func inputUnary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := checkInput(req); err != nil {
			return nil, err
		}
		resp, err := handler(ctx, req)
		return resp, boundStatus(err)
	}
}

// inputStream does the same for each message a stream receives.
func inputStream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return boundStatus(handler(srv, checkedStream{ss}))
	}
}

type checkedStream struct{ grpc.ServerStream }

func (s checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return checkInput(m)
}
