package api

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/token"
	"github.com/moosehq/moose/server/internal/workorder"
)

func projectToProto(p *workorder.Project) *moosev1.Project {
	var warmed *timestamppb.Timestamp
	if p.Warm.At != nil {
		warmed = timestamppb.New(*p.Warm.At)
	}
	return &moosev1.Project{
		WarmUpState:      string(p.Warm.State),
		WarmUpMessage:    p.Warm.Message,
		WarmUpTime:       warmed,
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

func workOrderToProto(ctx context.Context, w *workorder.WorkOrder) *moosev1.WorkOrder {
	seeHidden := canSeeHidden(ctx)
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
		FailToPass:         w.Acceptance.FailToPass,
		PassToPass:         w.Acceptance.PassToPass,
	}
	if w.Acceptance.Hidden() {
		if seeHidden {
			for _, f := range w.Acceptance.Files {
				out.AcceptanceTests = append(out.AcceptanceTests, &moosev1.AcceptanceTestFile{Path: f.Path, Content: f.Content})
			}
			out.AcceptanceTestPatch = w.Acceptance.Patch
		} else {
			out.HiddenTestsRedacted = true
		}
	}
	if r := w.Result; r != nil {
		res := &moosev1.WorkOrderResult{
			OverallScore:          r.OverallScore,
			Passed:                r.Passed,
			BuildPassed:           r.BuildPassed,
			TestsPassed:           r.TestsPassed,
			TestsTotal:            int32(r.TestsTotal),
			TestsFailed:           int32(r.TestsFailed),
			Cycles:                int32(r.Cycles),
			CostUsd:               r.CostUSD,
			InputTokens:           r.InputTokens,
			CacheReadInputTokens:  r.CacheReadInputTokens,
			CacheWriteInputTokens: r.CacheWriteInputTokens,
			OutputTokens:          r.OutputTokens,
			FailureReason:         r.FailureReason,
			PullRequestUrl:        r.PullRequestURL,
			PullRequestNumber:     int32(r.PullRequestNumber),
			Branch:                r.Branch,
		}
		for _, d := range r.Dimensions {
			res.Dimensions = append(res.Dimensions, &moosev1.DimensionScore{Name: d.Name, Score: d.Score, Weight: d.Weight, Reasons: d.Reasons})
		}
		res.HiddenTests = acceptanceToProto(r.Acceptance, seeHidden)
		out.Result = res
	}
	return out
}

// canSeeHidden: hidden acceptance tests and their failure messages are shown
// to callers with the write scope only (a call without a token is moosed's
// own).
func canSeeHidden(ctx context.Context) bool {
	t, ok := token.FromContext(ctx)
	return !ok || t.Allows(token.Write)
}

func acceptanceFromProto(req *moosev1.CreateWorkOrderRequest) acceptance.Spec {
	s := acceptance.Spec{Patch: req.GetAcceptanceTestPatch(), FailToPass: req.GetFailToPass(), PassToPass: req.GetPassToPass()}
	for _, f := range req.GetAcceptanceTests() {
		s.Files = append(s.Files, acceptance.File{Path: f.GetPath(), Content: f.GetContent()})
	}
	return s
}

var hiddenStatus = map[string]moosev1.HiddenTestStatus{
	acceptance.Passed:    moosev1.HiddenTestStatus_HIDDEN_TEST_STATUS_PASSED,
	acceptance.Failed:    moosev1.HiddenTestStatus_HIDDEN_TEST_STATUS_FAILED,
	acceptance.Skipped:   moosev1.HiddenTestStatus_HIDDEN_TEST_STATUS_DID_NOT_RUN,
	acceptance.DidNotRun: moosev1.HiddenTestStatus_HIDDEN_TEST_STATUS_DID_NOT_RUN,
}

// acceptanceToProto renders a verdict; failure messages of tests can quote
// hidden test code, so they are shown with the write scope only.
func acceptanceToProto(r *acceptance.Report, seeHidden bool) *moosev1.HiddenTestsReport {
	if r == nil {
		return nil
	}
	out := &moosev1.HiddenTestsReport{Passed: r.Passed, Ran: r.Ran, DerivedPassed: int32(r.DerivedPassed), Notes: r.Notes}
	for _, p := range r.Refused {
		out.Notes = append(out.Notes, "the proposal wrote the hidden test file "+p+": refused")
	}
	for _, k := range r.Excused {
		out.Notes = append(out.Notes, "the proposal's own test run failed "+k+", which the base commit fails too: not blamed")
	}
	for _, o := range r.Tests {
		t := &moosev1.HiddenTestOutcome{Id: o.ID, Kind: o.Kind, Status: hiddenStatus[o.Status], Excluded: o.Excluded, Exclusion: o.Exclusion, Derived: o.Derived}
		if seeHidden {
			t.Message = o.Message
		}
		out.Tests = append(out.Tests, t)
	}
	if b := r.Baseline; b != nil {
		out.Baseline = &moosev1.TestBaseline{BaseCommit: b.BaseCommit, Repeats: int32(b.Repeats), BuildPassed: b.BuildPassed,
			TestsPassing: int32(len(b.Passing)), Failing: b.Failing, Flaky: b.Flaky, DurationMs: b.DurationMS, Reused: b.Reused}
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
