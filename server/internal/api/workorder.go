package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

// WorkOrderHandler serves moose.v1.WorkOrderService.
type WorkOrderHandler struct {
	moosev1.UnimplementedWorkOrderServiceServer
	svc      *workorder.Service
	hub      *workorder.Hub
	variants VariantResolver
	log      *slog.Logger

	// SlowReader is how long a watch may wait on a reader that takes no
	// message before it is closed (default DefaultSlowReader).
	SlowReader time.Duration
}

// VariantResolver turns a variant id or name into its id.
type VariantResolver func(ctx context.Context, idOrName string) (uuid.UUID, error)

// NewWorkOrderHandler returns a WorkOrderHandler; hub feeds Watch streams and
// variants resolves pinned variants (nil refuses pins).
func NewWorkOrderHandler(svc *workorder.Service, hub *workorder.Hub, variants VariantResolver, log *slog.Logger) *WorkOrderHandler {
	return &WorkOrderHandler{svc: svc, hub: hub, variants: variants, log: log}
}

func (h *WorkOrderHandler) CreateWorkOrder(ctx context.Context, req *moosev1.CreateWorkOrderRequest) (*moosev1.CreateWorkOrderResponse, error) {
	var pin uuid.UUID
	if req.GetVariantId() != "" {
		if h.variants == nil {
			return nil, StatusFromError(ctx, h.log, fault.Invalid("variant_id", "pinning is not available"))
		}
		id, err := h.variants(ctx, req.GetVariantId())
		if errors.Is(err, fault.ErrNotFound) {
			err = fault.Invalid("variant_id", "no variant %q", req.GetVariantId())
		}
		if err != nil {
			return nil, StatusFromError(ctx, h.log, err)
		}
		pin = id
	}
	v := &fault.ValidationError{}
	build := durationField(v, "build_timeout", req.GetBuildTimeout())
	test := durationField(v, "test_timeout", req.GetTestTimeout())
	if err := v.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	w, err := h.svc.Create(ctx, workorder.NewWorkOrder{
		BuildTimeout:       build,
		TestTimeout:        test,
		PinnedVariant:      pin,
		ProjectID:          req.GetProjectId(),
		RequestID:          req.GetRequestId(),
		Title:              req.GetTitle(),
		Description:        req.GetDescription(),
		AcceptanceCriteria: req.GetAcceptanceCriteria(),
		Complexity:         int(req.GetComplexity()),
		Metadata:           req.GetMetadata(),
		// Absent means required: only an explicit false waives the gate.
		TestsOptional: req.TestsRequired != nil && !req.GetTestsRequired(),
		Acceptance:    acceptanceFromProto(req),
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.CreateWorkOrderResponse{WorkOrder: workOrderToProto(ctx, w)}, nil
}

func (h *WorkOrderHandler) ListWorkOrders(ctx context.Context, req *moosev1.ListWorkOrdersRequest) (*moosev1.ListWorkOrdersResponse, error) {
	f := workorder.Filter{PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	v := &fault.ValidationError{}
	if req.GetProjectId() != "" {
		id, err := uuid.Parse(req.GetProjectId())
		if err != nil {
			v.Add("project_id", "is not a valid id")
		}
		f.ProjectID = id
	}
	if req.GetStatus() != "" {
		st, err := workorder.ParseStatus(req.GetStatus())
		if err != nil {
			v.Add("status", "unknown status %q", req.GetStatus())
		}
		f.Status = st
	}
	if req.GetPageSize() < 0 {
		v.Add("page_size", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	ws, next, err := h.svc.List(ctx, f)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	out := &moosev1.ListWorkOrdersResponse{NextPageToken: next}
	for _, w := range ws {
		out.WorkOrders = append(out.WorkOrders, workOrderToProto(ctx, w))
	}
	return out, nil
}

func (h *WorkOrderHandler) GetWorkOrder(ctx context.Context, req *moosev1.GetWorkOrderRequest) (*moosev1.GetWorkOrderResponse, error) {
	id, err := workorder.ParseID("id", req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	w, err := h.svc.Get(ctx, id)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.GetWorkOrderResponse{WorkOrder: workOrderToProto(ctx, w)}, nil
}

func (h *WorkOrderHandler) ListWorkOrderEvents(ctx context.Context, req *moosev1.ListWorkOrderEventsRequest) (*moosev1.ListWorkOrderEventsResponse, error) {
	id, err := workorder.ParseID("id", req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	if _, err := h.svc.Get(ctx, id); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	evs, err := h.svc.Events(ctx, id, 0)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	out := &moosev1.ListWorkOrderEventsResponse{}
	for _, e := range evs {
		out.Events = append(out.Events, eventToProto(e))
	}
	return out, nil
}

func (h *WorkOrderHandler) transition(ctx context.Context, rawID string, op workorder.Op, msg string) (*moosev1.WorkOrder, error) {
	id, err := workorder.ParseID("id", rawID)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	w, err := h.svc.Transition(ctx, id, op, msg)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return workOrderToProto(ctx, w), nil
}

func (h *WorkOrderHandler) ApproveWorkOrder(ctx context.Context, req *moosev1.ApproveWorkOrderRequest) (*moosev1.ApproveWorkOrderResponse, error) {
	w, err := h.transition(ctx, req.GetId(), workorder.OpApprove, "approved")
	if err != nil {
		return nil, err
	}
	return &moosev1.ApproveWorkOrderResponse{WorkOrder: w}, nil
}

func (h *WorkOrderHandler) CancelWorkOrder(ctx context.Context, req *moosev1.CancelWorkOrderRequest) (*moosev1.CancelWorkOrderResponse, error) {
	msg := "cancelled"
	if req.GetReason() != "" {
		msg = "cancelled: " + req.GetReason()
	}
	w, err := h.transition(ctx, req.GetId(), workorder.OpCancel, msg)
	if err != nil {
		return nil, err
	}
	return &moosev1.CancelWorkOrderResponse{WorkOrder: w}, nil
}

func (h *WorkOrderHandler) RetryWorkOrder(ctx context.Context, req *moosev1.RetryWorkOrderRequest) (*moosev1.RetryWorkOrderResponse, error) {
	w, err := h.transition(ctx, req.GetId(), workorder.OpRetry, "retried")
	if err != nil {
		return nil, err
	}
	return &moosev1.RetryWorkOrderResponse{WorkOrder: w}, nil
}

func (h *WorkOrderHandler) WatchWorkOrder(req *moosev1.WatchWorkOrderRequest, stream moosev1.WorkOrderService_WatchWorkOrderServer) error {
	ctx := stream.Context()
	id, err := workorder.ParseID("id", req.GetId())
	if err != nil {
		return StatusFromError(ctx, h.log, err)
	}
	send, stop := boundedSender(ctx, stream.Send, h.slowReader())
	err = h.svc.Watch(ctx, h.hub, id, func(e workorder.Event) error {
		return send(&moosev1.WatchWorkOrderResponse{Event: eventToProto(e)})
	})
	if serr := stop(); err == nil {
		err = serr
	}
	return StatusFromError(ctx, h.log, err)
}

// DefaultSlowReader is how long a watch stream may go without its reader
// taking a message (with watchBuffer messages waiting) before it is closed.
const DefaultSlowReader = 30 * time.Second

// watchBuffer bounds the messages one watch stream holds for its reader.
const watchBuffer = 16

func (h *WorkOrderHandler) slowReader() time.Duration {
	if h.SlowReader > 0 {
		return h.SlowReader
	}
	return DefaultSlowReader
}

// boundedSender sends through one goroutine with a buffer of watchBuffer
// messages. A reader that leaves the buffer full for longer than slow ends
// the stream with ResourceExhausted rather than pinning memory and a
// goroutine. stop waits for the buffer to drain and returns the first error.
func boundedSender[M any](ctx context.Context, send func(M) error, slow time.Duration) (func(M) error, func() error) {
	ctx, cancel := context.WithCancel(ctx)
	queue := make(chan M, watchBuffer)
	done := make(chan error, 1)
	go func() {
		var err error
		for m := range queue {
			if err == nil {
				err = send(m)
				if err != nil {
					cancel()
				}
			}
		}
		done <- err
	}()
	enqueue := func(m M) error {
		select {
		case queue <- m:
			return nil
		default:
		}
		t := time.NewTimer(slow)
		defer t.Stop()
		select {
		case queue <- m:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			cancel()
			return fmt.Errorf("the watch reader took no message for %s with %d waiting; reconnect and resume: %w", slow, watchBuffer, fault.ErrResourceExhausted)
		}
	}
	var once sync.Once
	var serr error
	stop := func() error {
		once.Do(func() {
			close(queue)
			t := time.NewTimer(slow)
			defer t.Stop()
			select {
			case serr = <-done:
			case <-ctx.Done():
				serr = ctx.Err()
			case <-t.C:
				cancel()
				serr = fmt.Errorf("the watch reader took none of the last %d messages for %s: %w", watchBuffer, slow, fault.ErrResourceExhausted)
			}
		})
		return serr
	}
	return enqueue, stop
}
