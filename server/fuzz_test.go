package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// fuzzCases is how many generated requests each RPC gets: MOOSE_FUZZ_CASES,
// else 25 (make test); make fuzz sends thousands.
func fuzzCases(t *testing.T) int {
	if v := os.Getenv("MOOSE_FUZZ_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "MOOSE_FUZZ_CASES")
		return n
	}
	return 25
}

// invalidMarker is spliced out of marshalled requests for bytes that are not
// UTF-8 (a Go string field cannot carry them through proto.Marshal). Both
// have the same length, so the length prefixes stay right.
const (
	invalidMarker = "\x01FUZZ\x01"
	invalidBytes  = "\xffFUZZ\xfe"
)

// fuzzer generates requests from a message's descriptor: plausible and
// hostile values for each field, nested messages, lists and maps, then
// sometimes damages the encoding.
type fuzzer struct {
	r       *rand.Rand
	strings []string
}

func newFuzzer(seed uint64, known ...string) *fuzzer {
	pool := []string{"", "a", "main", "go", "typescript", "admin", "read", "cheap", "whole",
		"name\x00with nul", "\x00", "emoji 🦌 ok", strings.Repeat("x", 300), strings.Repeat("é", 256<<10),
		"00000000-0000-0000-0000-000000000000", "not-a-uuid", "../../etc/passwd", "/tmp", "file:///etc",
		"https://git.example.com/r.git", "-1", "9999999999999999999", "%00", "<script>", "' OR 1=1 --",
		invalidMarker, "ok" + invalidMarker + "tail"}
	return &fuzzer{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), strings: append(pool, known...)}
}

func (f *fuzzer) str() string { return f.strings[f.r.IntN(len(f.strings))] }

func (f *fuzzer) int64() int64 {
	vals := []int64{0, 1, -1, 2, 10, 100, -100, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 1 << 40}
	if f.r.IntN(4) == 0 {
		return f.r.Int64() - math.MaxInt64/2
	}
	return vals[f.r.IntN(len(vals))]
}

func (f *fuzzer) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(f.str())
	case protoreflect.BytesKind:
		b := make([]byte, f.r.IntN(64))
		for i := range b {
			b[i] = byte(f.r.IntN(256))
		}
		return protoreflect.ValueOfBytes(b)
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(f.r.IntN(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if f.r.IntN(4) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(f.r.IntN(200) - 50)) // undefined too
		}
		return protoreflect.ValueOfEnum(vals.Get(f.r.IntN(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(f.int64()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(f.int64())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(f.int64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(f.int64()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64([]float64{0, -1, 0.5, 1e300, math.Inf(1), math.NaN()}[f.r.IntN(6)])
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32([]float32{0, -1, 0.5, 3e38, float32(math.Inf(-1)), float32(math.NaN())}[f.r.IntN(6)])
	}
	return protoreflect.Value{}
}

// message fills about half of md's fields, to depth 3.
func (f *fuzzer) message(md protoreflect.MessageDescriptor, depth int) *dynamicpb.Message {
	m := dynamicpb.NewMessage(md)
	if depth > 3 {
		return m
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if f.r.IntN(2) == 0 {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for n := f.r.IntN(3); n > 0; n-- {
				k := f.scalar(fd.MapKey())
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					mp.Set(k.MapKey(), protoreflect.ValueOfMessage(f.message(fd.MapValue().Message(), depth+1)))
				} else {
					mp.Set(k.MapKey(), f.scalar(fd.MapValue()))
				}
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for n := f.r.IntN(4); n > 0; n-- {
				if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
					l.Append(protoreflect.ValueOfMessage(f.message(fd.Message(), depth+1)))
				} else {
					l.Append(f.scalar(fd))
				}
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			m.Set(fd, protoreflect.ValueOfMessage(f.message(fd.Message(), depth+1)))
		default:
			m.Set(fd, f.scalar(fd))
		}
	}
	return m
}

// payload is one request body for md: a generated message, its strings
// sometimes made invalid UTF-8, its encoding sometimes damaged.
func (f *fuzzer) payload(md protoreflect.MessageDescriptor) []byte {
	b, err := proto.MarshalOptions{}.Marshal(f.message(md, 0))
	if err != nil {
		return []byte("\xff")
	}
	if f.r.IntN(2) == 0 {
		b = bytes.ReplaceAll(b, []byte(invalidMarker), []byte(invalidBytes))
	}
	if f.r.IntN(3) == 0 && len(b) > 0 {
		for n := 1 + f.r.IntN(3); n > 0; n-- {
			switch i := f.r.IntN(len(b)); f.r.IntN(3) {
			case 0:
				b[i] ^= byte(1 << f.r.IntN(8))
			case 1:
				b = b[:i]
			default:
				b = append(b[:i:i], append([]byte{byte(f.r.IntN(256)), byte(f.r.IntN(256))}, b[i:]...)...)
			}
			if len(b) == 0 {
				break
			}
		}
	}
	return b
}

// errorLog counts the ERROR lines a server logs and keeps the first few.
type errorLog struct {
	mu    sync.Mutex
	lines []string
	n     int
}

func (l *errorLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("level=ERROR")) {
		l.mu.Lock()
		l.n++
		if len(l.lines) < 5 {
			l.lines = append(l.lines, string(p[:min(len(p), 600)]))
		}
		l.mu.Unlock()
	}
	return len(p), nil
}

// TestFuzzEveryRPC sends every RPC of the public API, with an admin token
// (so requests get past authentication to decoding and validation), the
// fixed malformed payloads and fuzzCases generated ones: each answer is a
// success or a client error with a bounded message, never Internal, Unknown
// or DataLoss, no call hangs, and the server logs no ERROR line.
func TestFuzzEveryRPC(t *testing.T) {
	t.Parallel()
	errs := &errorLog{}
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(errs, nil))
	}))
	ctx := context.Background()
	typed := srv.Dial(t)
	p, err := moosev1.NewProjectServiceClient(typed).CreateProject(ctx, &moosev1.CreateProjectRequest{
		Name: "fuzzed", RepoUrl: "https://git.example.com/repos/fuzzed", DefaultBranch: "main", Language: "go"})
	require.NoError(t, err)
	wo, err := moosev1.NewWorkOrderServiceClient(typed).CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{
		ProjectId: p.GetProject().GetId(), Title: "fuzzed", Complexity: 2})
	require.NoError(t, err)

	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(servertest.Bearer(srv.AdminToken())),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })

	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("MOOSE_FUZZ_SEED"); v != "" {
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (MOOSE_FUZZ_SEED reruns it)", seed)
	f := newFuzzer(seed, p.GetProject().GetId(), wo.GetWorkOrder().GetId())
	cases := fuzzCases(t)

	var methods, calls, clientErrors int
	codesSeen := map[codes.Code]int{}
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
				var bodies [][]byte
				names := []string{}
				for name, body := range payloads(md.Input()) {
					bodies, names = append(bodies, body), append(names, name)
				}
				for n := 0; n < cases; n++ {
					bodies, names = append(bodies, f.payload(md.Input())), append(names, fmt.Sprintf("generated %d", n))
				}
				for k, body := range bodies {
					calls++
					err := fuzzCall(conn, full, md.IsStreamingServer(), body)
					if err == nil {
						continue
					}
					s := status.Convert(err)
					codesSeen[s.Code()]++
					clientErrors++
					require.NotContains(t, []codes.Code{codes.Internal, codes.Unknown, codes.DataLoss, codes.DeadlineExceeded}, s.Code(),
						"%s with %s (%x…): %s", full, names[k], body[:min(len(body), 64)], s.Message()[:min(len(s.Message()), 500)])
					size := len(s.Message())
					for _, d := range s.Proto().GetDetails() {
						size += len(d.GetValue())
					}
					require.Less(t, size, 8<<10, "%s with %s: the error echoes %d bytes", full, names[k], size)
				}
			}
		}
		return true
	})
	t.Logf("%d RPCs, %d calls, %d refused: %v", methods, calls, clientErrors, codesSeen)
	require.Greater(t, methods, 30, "every public RPC was tried")
	require.Greater(t, codesSeen[codes.InvalidArgument], methods, "the requests got past authentication to validation")
	errs.mu.Lock()
	defer errs.mu.Unlock()
	require.Zero(t, errs.n, "ERROR log lines, the first: %s", strings.Join(errs.lines, "\n"))
}

// fuzzCall sends body to method full. A server stream that is still open
// after its first second (a valid watch waiting for events) is a success.
func fuzzCall(conn *grpc.ClientConn, full string, stream bool, body []byte) error {
	if !stream {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var reply []byte
		return conn.Invoke(ctx, full, &body, &reply)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, full)
	if err == nil {
		err = st.SendMsg(&body)
	}
	if err == nil {
		_ = st.CloseSend()
		var reply []byte
		err = st.RecvMsg(&reply)
	}
	if errors.Is(err, io.EOF) || status.Code(err) == codes.DeadlineExceeded && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil
	}
	return err
}
