package moose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// ErrWatchEnded is returned by WatchUntilDone when the server closed the
// stream before the work order reached a terminal state (moosed shutting
// down, for example). Watching again replays the history and continues.
var ErrWatchEnded = errors.New("watch ended before the work order reached a terminal state")

// WorkOrderFilter selects work orders for ListWorkOrders. Zero fields do not
// filter.
type WorkOrderFilter struct {
	ProjectID string
	Status    moosev1.WorkOrderStatus
}

// CreateWorkOrder creates a pending work order. An empty RequestId is filled
// with a random one (the caller's message is not modified), so that a retry
// of this very call can never create a duplicate; set RequestId yourself to
// make retries across processes idempotent too.
func (c *Client) CreateWorkOrder(ctx context.Context, req *moosev1.CreateWorkOrderRequest) (*moosev1.WorkOrder, error) {
	if req.GetRequestId() == "" {
		req = proto.CloneOf(req)
		req.RequestId = uuid.NewString()
	}
	resp, err := c.workOrders.CreateWorkOrder(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("create work order %q: %w", req.GetTitle(), err)
	}
	return resp.GetWorkOrder(), nil
}

func (f WorkOrderFilter) request(page Page) *moosev1.ListWorkOrdersRequest {
	req := &moosev1.ListWorkOrdersRequest{ProjectId: f.ProjectID, PageSize: page.Size, PageToken: page.Token}
	if f.Status != moosev1.WorkOrderStatus_WORK_ORDER_STATUS_UNSPECIFIED {
		req.Status = StatusName(f.Status)
	}
	return req
}

// ListWorkOrders returns one page of work orders in creation order and the
// token of the next page ("" on the last page).
func (c *Client) ListWorkOrders(ctx context.Context, filter WorkOrderFilter, page Page) ([]*moosev1.WorkOrder, string, error) {
	resp, err := c.workOrders.ListWorkOrders(ctx, filter.request(page))
	if err != nil {
		return nil, "", fmt.Errorf("list work orders: %w", err)
	}
	return resp.GetWorkOrders(), resp.GetNextPageToken(), nil
}

// AllWorkOrders iterates over every work order matching filter, fetching
// pages of pageSize (0: server default) as the loop advances. An error ends
// the iteration after being yielded once.
func (c *Client) AllWorkOrders(ctx context.Context, filter WorkOrderFilter, pageSize int32) iter.Seq2[*moosev1.WorkOrder, error] {
	return paginate(func(token string) ([]*moosev1.WorkOrder, string, error) {
		return c.ListWorkOrders(ctx, filter, Page{Size: pageSize, Token: token})
	})
}

// GetWorkOrder returns one work order with its latest result, if any.
func (c *Client) GetWorkOrder(ctx context.Context, id string) (*moosev1.WorkOrder, error) {
	resp, err := c.workOrders.GetWorkOrder(ctx, &moosev1.GetWorkOrderRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("get work order %s: %w", id, err)
	}
	return resp.GetWorkOrder(), nil
}

// ListWorkOrderEvents returns a work order's audit trail, oldest first.
func (c *Client) ListWorkOrderEvents(ctx context.Context, id string) ([]*moosev1.Event, error) {
	resp, err := c.workOrders.ListWorkOrderEvents(ctx, &moosev1.ListWorkOrderEventsRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("list events of work order %s: %w", id, err)
	}
	return resp.GetEvents(), nil
}

// ApproveWorkOrder moves a pending work order to approved. Other states are
// refused with FailedPrecondition naming the current state.
func (c *Client) ApproveWorkOrder(ctx context.Context, id string) (*moosev1.WorkOrder, error) {
	resp, err := c.workOrders.ApproveWorkOrder(ctx, &moosev1.ApproveWorkOrderRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("approve work order %s: %w", id, err)
	}
	return resp.GetWorkOrder(), nil
}

// CancelWorkOrder cancels a work order that is not in a terminal state;
// reason (may be empty) is recorded in the cancel event.
func (c *Client) CancelWorkOrder(ctx context.Context, id, reason string) (*moosev1.WorkOrder, error) {
	resp, err := c.workOrders.CancelWorkOrder(ctx, &moosev1.CancelWorkOrderRequest{Id: id, Reason: reason})
	if err != nil {
		return nil, fmt.Errorf("cancel work order %s: %w", id, err)
	}
	return resp.GetWorkOrder(), nil
}

// RetryWorkOrder sends a failed or needs_review work order back to approved.
func (c *Client) RetryWorkOrder(ctx context.Context, id string) (*moosev1.WorkOrder, error) {
	resp, err := c.workOrders.RetryWorkOrder(ctx, &moosev1.RetryWorkOrderRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("retry work order %s: %w", id, err)
	}
	return resp.GetWorkOrder(), nil
}

// Watch iterates over a work order's events: its history first, then live
// events as they happen. The iteration ends when the server ends the stream,
// which it does once the work order is in a terminal state; when ctx ends; or
// at the first error, which is yielded once. Breaking out of the loop closes
// the stream.
//
//	for ev, err := range c.Watch(ctx, id) {
//		if err != nil { return err }
//		fmt.Println(ev.GetType(), ev.GetMessage())
//	}
func (c *Client) Watch(ctx context.Context, id string) iter.Seq2[*moosev1.Event, error] {
	return func(yield func(*moosev1.Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := c.workOrders.WatchWorkOrder(ctx, &moosev1.WatchWorkOrderRequest{Id: id})
		if err != nil {
			yield(nil, fmt.Errorf("watch work order %s: %w", id, err))
			return
		}
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, fmt.Errorf("watch work order %s: %w", id, err))
				return
			}
			if !yield(resp.GetEvent(), nil) {
				return
			}
		}
	}
}

// WatchUntilDone calls fn for every event of the work order (history, then
// live) and returns the work order as it stands once the stream ends. If the
// stream ended but the work order is not in a terminal state, it returns the
// work order and ErrWatchEnded. An error from fn stops the watch and is
// returned as is.
func (c *Client) WatchUntilDone(ctx context.Context, id string, fn func(*moosev1.Event) error) (*moosev1.WorkOrder, error) {
	for ev, err := range c.Watch(ctx, id) {
		if err != nil {
			return nil, err
		}
		if err := fn(ev); err != nil {
			return nil, err
		}
	}
	wo, err := c.GetWorkOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if !IsTerminal(wo.GetStatus()) {
		return wo, fmt.Errorf("watch work order %s: status %s: %w", id, StatusName(wo.GetStatus()), ErrWatchEnded)
	}
	return wo, nil
}
