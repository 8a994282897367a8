package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// TestWatchStreamsAreBounded: one token holds at most MaxStreamsPerToken
// watches, and a watcher that reads nothing while its buffer is full is
// closed with ResourceExhausted instead of holding the history in memory.
func TestWatchStreamsAreBounded(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.WithConfig(func(c *server.Config) {
		c.MaxStreamsPerToken = 3
		c.WatchSlowReader = 2 * time.Second // generous: the reader that keeps up must never look slow under load
	}))
	c := dial(t, srv)
	ctx := t.Context()
	p := c.project(t, "streams")
	r, err := c.wos.CreateWorkOrder(ctx, &moosev1.CreateWorkOrderRequest{ProjectId: p.GetId(), Title: "t", Description: "d",
		Complexity: 2, AcceptanceCriteria: []string{"a"}})
	require.NoError(t, err)
	id := r.GetWorkOrder().GetId()

	open := func() (moosev1.WorkOrderService_WatchWorkOrderClient, context.CancelFunc, error) {
		sctx, cancel := context.WithCancel(ctx)
		st, err := c.wos.WatchWorkOrder(sctx, &moosev1.WatchWorkOrderRequest{Id: id})
		if err == nil {
			_, err = st.Recv() // the "created" event: the stream is open
		}
		return st, cancel, err
	}
	var cancels []context.CancelFunc
	for range 3 {
		_, cancel, err := open()
		require.NoError(t, err)
		cancels = append(cancels, cancel)
	}
	_, cancel4, err := open()
	defer cancel4()
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "a fourth stream of the same token: %v", err)
	require.Contains(t, status.Convert(err).Message(), "open streams")

	// Another token has its own allowance; a closed stream frees one.
	other := moosev1.NewWorkOrderServiceClient(srv.DialToken(t, srv.Token(t, "read")))
	ost, err := other.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
	require.NoError(t, err)
	_, err = ost.Recv()
	require.NoError(t, err)
	cancels[0]()
	require.Eventually(t, func() bool {
		_, cancel, err := open()
		if err == nil {
			cancels = append(cancels, cancel)
		} else {
			cancel()
		}
		return err == nil
	}, 5*time.Second, 50*time.Millisecond, "a closed stream gives its slot back")
	for _, cancel := range cancels {
		cancel()
	}

	// A long history (4 MiB) and a reader that takes nothing: the stream ends
	// with ResourceExhausted once the buffer stayed full for the slow-reader
	// limit; what was sent before is still readable.
	_, err = srv.Server().Pool().Exec(ctx, `INSERT INTO work_order_events (work_order_id, type, message)
		SELECT $1, 'info', repeat('x', 4096) FROM generate_series(1, 1000)`, id)
	require.NoError(t, err)
	st, cancel, err := open()
	require.NoError(t, err)
	defer cancel()
	time.Sleep(6 * time.Second) // read nothing, well past the slow-reader limit
	var got int
	for {
		_, err = st.Recv()
		if err != nil {
			break
		}
		got++
	}
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "after %d events: %v", got, err)
	require.Less(t, got, 1000, "the slow reader did not get the whole history")

	// A reader that keeps up gets the whole history, page after page.
	st, cancel2, err := open()
	require.NoError(t, err)
	defer cancel2()
	for got = 1; got < 1001; got++ {
		_, err := st.Recv()
		require.NoError(t, err, "after %d events", got)
	}
}
