package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/google/uuid"

	pluginv1 "github.com/moosehq/moose/proto/gen/moose/plugin/v1"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

// DefaultArchitect is the architect plugin used when a request names none:
// the offline replay architect.
const DefaultArchitect = "architect-replay"

// MaxSpecBytes bounds a spec document.
const MaxSpecBytes = 1 << 20

// Decomposer is the plugin host's architect call.
type Decomposer interface {
	Decompose(ctx context.Context, name, version string, req *pluginv1.DecomposeRequest) (*pluginv1.DecomposeResponse, error)
}

// SpecHandler serves moose.v1.SpecService.
type SpecHandler struct {
	moosev1.UnimplementedSpecServiceServer
	host Decomposer
	svc  *workorder.Service
	log  *slog.Logger
}

// NewSpecHandler returns a SpecHandler creating work orders through svc.
func NewSpecHandler(host Decomposer, svc *workorder.Service, log *slog.Logger) *SpecHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SpecHandler{host: host, svc: svc, log: log}
}

// DecomposeSpec asks the architect for a plan, checks every planned work
// order, and only then creates them as pending, in order. A plan with one
// invalid work order creates none.
func (h *SpecHandler) DecomposeSpec(ctx context.Context, req *moosev1.DecomposeSpecRequest) (*moosev1.DecomposeSpecResponse, error) {
	v := &fault.ValidationError{}
	pid, err := uuid.Parse(req.GetProjectId())
	if err != nil {
		v.Add("project_id", "is not a valid id")
	}
	switch {
	case req.GetSpec() == "":
		v.Add("spec", "is required")
	case len(req.GetSpec()) > MaxSpecBytes:
		v.Add("spec", "must be at most %d bytes, got %d", MaxSpecBytes, len(req.GetSpec()))
	}
	if req.GetMaxWorkOrders() < 0 {
		v.Add("max_work_orders", "must not be negative")
	}
	if len(req.GetRequestId()) > workorder.MaxRequestIDLen-4 {
		v.Add("request_id", "must be at most %d characters", workorder.MaxRequestIDLen-4)
	}
	if err := v.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	project, err := h.svc.GetProject(ctx, pid)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	architect := req.GetArchitect()
	if architect == "" {
		architect = DefaultArchitect
	}
	sum := sha256.Sum256([]byte(req.GetSpec()))
	specSHA := hex.EncodeToString(sum[:])
	plan, err := h.host.Decompose(ctx, architect, req.GetArchitectVersion(), &pluginv1.DecomposeRequest{
		Spec:     req.GetSpec(),
		SpecName: req.GetSpecName(),
		Project:  &pluginv1.ProjectContext{Name: project.Name, Language: project.Language},
		Config: &pluginv1.ArchitectConfig{
			Model:   req.GetModel(),
			BaseUrl: req.GetBaseUrl(),
			Params:  req.GetParams(),
		},
		MaxWorkOrders: req.GetMaxWorkOrders(),
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, fmt.Errorf("decompose spec with architect %s: %w", architect, err))
	}
	if len(plan.GetWorkOrders()) == 0 {
		return nil, StatusFromError(ctx, h.log, fmt.Errorf("architect %s planned no work orders: %w", architect, fault.ErrFailedPrecondition))
	}
	news := make([]workorder.NewWorkOrder, 0, len(plan.GetWorkOrders()))
	pv := &fault.ValidationError{}
	for i, w := range plan.GetWorkOrders() {
		n := workorder.NewWorkOrder{
			ProjectID:          project.ID.String(),
			Title:              w.GetTitle(),
			Description:        w.GetDescription(),
			AcceptanceCriteria: w.GetAcceptanceCriteria(),
			Complexity:         int(w.GetComplexity()),
			Metadata: map[string]string{
				"spec_sha256": specSHA,
				"spec_index":  strconv.Itoa(i + 1),
				"architect":   architect,
			},
		}
		if req.GetSpecName() != "" {
			n.Metadata["spec_name"] = req.GetSpecName()
		}
		if plan.GetModel() != "" {
			n.Metadata["architect_model"] = plan.GetModel()
		}
		if req.GetRequestId() != "" {
			n.RequestID = req.GetRequestId() + "/" + strconv.Itoa(i+1)
		}
		if err := n.Validate(); err != nil {
			var ve *fault.ValidationError
			if errors.As(err, &ve) {
				for _, x := range ve.Violations {
					pv.Add(fmt.Sprintf("work_orders[%d].%s", i, x.Field), "%s", x.Reason)
				}
			}
		}
		news = append(news, n)
	}
	if err := pv.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, fmt.Errorf("architect %s planned invalid work orders: %w", architect, err))
	}
	out := &moosev1.DecomposeSpecResponse{
		Model: plan.GetModel(), InputTokens: plan.GetInputTokens(), OutputTokens: plan.GetOutputTokens(),
		SpecSha256: specSHA, PromptHash: plan.GetPromptHash(),
	}
	for _, n := range news {
		if req.GetDryRun() {
			out.WorkOrders = append(out.WorkOrders, &moosev1.WorkOrder{
				ProjectId: n.ProjectID, Title: n.Title, Description: n.Description, AcceptanceCriteria: n.AcceptanceCriteria,
				Complexity: int32(n.Complexity), Status: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING,
				RequestId: n.RequestID, Metadata: n.Metadata,
			})
			continue
		}
		w, err := h.svc.Create(ctx, n)
		if err != nil {
			// Work orders created so far stay (pending, harmless); repeating the
			// call with a request_id completes the set without duplicates.
			return nil, StatusFromError(ctx, h.log, fmt.Errorf("create work order %q: %w", n.Title, err))
		}
		out.WorkOrders = append(out.WorkOrders, workOrderToProto(ctx, w))
	}
	h.log.InfoContext(ctx, "spec decomposed", "project_id", project.ID, "architect", architect, "spec_sha256", specSHA,
		"work_orders", len(out.WorkOrders), "dry_run", req.GetDryRun(), "input_tokens", plan.GetInputTokens(), "output_tokens", plan.GetOutputTokens())
	return out, nil
}
