package api

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

func projectToProto(p *workorder.Project) *moosev1.Project {
	return &moosev1.Project{
		Id:               p.ID.String(),
		Name:             p.Name,
		RepoUrl:          p.RepoURL,
		DefaultBranch:    p.DefaultBranch,
		Language:         p.Language,
		Preset:           p.Preset,
		BuildCommand:     p.BuildCommand,
		TestCommand:      p.TestCommand,
		TypecheckCommand: p.TypecheckCommand,
		MinMutationScore: p.MinMutationScore,
		CreateTime:       timestamppb.New(p.CreatedAt),
		UpdateTime:       timestamppb.New(p.UpdatedAt),
		BuildTimeout:     durationOrNil(p.BuildTimeout),
		TestTimeout:      durationOrNil(p.TestTimeout),
	}
}

// durationOrNil leaves a limit that is not set absent.
func durationOrNil(d time.Duration) *durationpb.Duration {
	if d <= 0 {
		return nil
	}
	return durationpb.New(d)
}

// durationField reads an optional duration field; an invalid one is a
// problem of field in v (absent is 0).
func durationField(v *fault.ValidationError, field string, d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	if err := d.CheckValid(); err != nil || d.AsDuration() <= 0 {
		v.Add(field, "must be a positive duration")
		return 0
	}
	return d.AsDuration()
}

var statusToProto = map[workorder.Status]moosev1.WorkOrderStatus{
	workorder.StatusPending:     moosev1.WorkOrderStatus_WORK_ORDER_STATUS_PENDING,
	workorder.StatusApproved:    moosev1.WorkOrderStatus_WORK_ORDER_STATUS_APPROVED,
	workorder.StatusInProgress:  moosev1.WorkOrderStatus_WORK_ORDER_STATUS_IN_PROGRESS,
	workorder.StatusCompleted:   moosev1.WorkOrderStatus_WORK_ORDER_STATUS_COMPLETED,
	workorder.StatusNeedsReview: moosev1.WorkOrderStatus_WORK_ORDER_STATUS_NEEDS_REVIEW,
	workorder.StatusFailed:      moosev1.WorkOrderStatus_WORK_ORDER_STATUS_FAILED,
	workorder.StatusCancelled:   moosev1.WorkOrderStatus_WORK_ORDER_STATUS_CANCELLED,
}

func workOrderToProto(w *workorder.WorkOrder) *moosev1.WorkOrder {
	out := &moosev1.WorkOrder{
		Id:                 w.ID.String(),
		ProjectId:          w.ProjectID.String(),
		Title:              w.Title,
		Description:        w.Description,
		AcceptanceCriteria: w.AcceptanceCriteria,
		Complexity:         int32(w.Complexity),
		Status:             statusToProto[w.Status],
		RequestId:          w.RequestID,
		Metadata:           w.Metadata,
		VariantId:          w.VariantID,
		TestsRequired:      !w.TestsOptional,
		BuildTimeout:       durationOrNil(w.BuildTimeout),
		TestTimeout:        durationOrNil(w.TestTimeout),
		CreateTime:         timestamppb.New(w.CreatedAt),
		UpdateTime:         timestamppb.New(w.UpdatedAt),
	}
	if r := w.Result; r != nil {
		res := &moosev1.WorkOrderResult{
			OverallScore:      r.OverallScore,
			Passed:            r.Passed,
			BuildPassed:       r.BuildPassed,
			TestsPassed:       r.TestsPassed,
			TestsTotal:        int32(r.TestsTotal),
			TestsFailed:       int32(r.TestsFailed),
			Cycles:            int32(r.Cycles),
			CostUsd:           r.CostUSD,
			InputTokens:       r.InputTokens,
			OutputTokens:      r.OutputTokens,
			FailureReason:     r.FailureReason,
			PullRequestUrl:    r.PullRequestURL,
			PullRequestNumber: int32(r.PullRequestNumber),
			Branch:            r.Branch,
		}
		for _, d := range r.Dimensions {
			res.Dimensions = append(res.Dimensions, &moosev1.DimensionScore{Name: d.Name, Score: d.Score, Weight: d.Weight, Reasons: d.Reasons})
		}
		out.Result = res
	}
	return out
}

func eventToProto(e workorder.Event) *moosev1.Event {
	return &moosev1.Event{
		Id:          e.ID,
		WorkOrderId: e.WorkOrderID.String(),
		Type:        e.Type,
		FromStatus:  statusToProto[e.FromStatus],
		ToStatus:    statusToProto[e.ToStatus],
		Phase:       e.Phase,
		Message:     e.Message,
		Data:        e.Data,
		CreateTime:  timestamppb.New(e.CreatedAt),
	}
}
