package server

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPanickingHandlerFailsOnlyItsCall(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	info := &grpc.UnaryServerInfo{FullMethod: "/moose.v1.WorkOrderService/GetWorkOrder"}
	_, err := recoverUnary(log)(context.Background(), nil, info, func(context.Context, any) (any, error) { panic("boom") })
	require.Equal(t, codes.Internal, status.Code(err))
	require.NotContains(t, err.Error(), "boom", "panic values are logged, not sent to clients")

	resp, err := recoverUnary(log)(context.Background(), nil, info, func(context.Context, any) (any, error) { return "ok", nil })
	require.NoError(t, err)
	require.Equal(t, "ok", resp)

	err = recoverStream(log)(nil, nil, &grpc.StreamServerInfo{FullMethod: "/x"}, func(any, grpc.ServerStream) error { panic("boom") })
	require.Equal(t, codes.Internal, status.Code(err))
}
