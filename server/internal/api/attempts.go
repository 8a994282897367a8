package api

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/workorder"
)

func (h *WorkOrderHandler) ListWorkOrderAttempts(ctx context.Context, req *moosev1.ListWorkOrderAttemptsRequest) (*moosev1.ListWorkOrderAttemptsResponse, error) {
	id, err := workorder.ParseID("id", req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	as, next, err := h.svc.Attempts(ctx, id, workorder.AttemptsPage{Size: int(req.GetPageSize()), Token: req.GetPageToken(), Full: req.GetFull()})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	out := &moosev1.ListWorkOrderAttemptsResponse{NextPageToken: next}
	for _, a := range as {
		out.Attempts = append(out.Attempts, attemptToProto(a, canSeeHidden(ctx)))
	}
	return out, nil
}

func attemptToProto(a workorder.Attempt, seeHidden bool) *moosev1.Attempt {
	out := &moosev1.Attempt{
		Id:                    a.ID.String(),
		Execution:             int32(a.Execution),
		Cycle:                 int32(a.Cycle),
		Shadow:                a.Shadow,
		VariantId:             a.VariantID,
		Model:                 a.Model,
		PromptHash:            a.PromptHash,
		RawProposal:           a.RawProposal,
		RawProposalTruncated:  a.RawProposalTruncated,
		RawProposalBytes:      a.RawProposalBytes,
		ChangedFiles:          a.ChangedFiles,
		BuildPassed:           a.BuildPassed,
		TestsPassed:           a.TestsPassed,
		InputTokens:           a.InputTokens,
		CacheReadInputTokens:  a.CacheReadInputTokens,
		CacheWriteInputTokens: a.CacheWriteInputTokens,
		OutputTokens:          a.OutputTokens,
		CostUsd:               a.CostUSD,
		FinishReason:          a.FinishReason,
		DurationMs:            a.DurationMS,
		Error:                 a.Error,
		CreateTime:            timestamppb.New(a.CreatedAt),
	}
	for _, f := range a.Findings() {
		out.Findings = append(out.Findings, &moosev1.AttemptFinding{
			Source: f.Source, File: f.File, Line: int32(f.Line), Column: int32(f.Column),
			Category: f.Category, Severity: f.Severity, Message: f.Message,
		})
	}
	for _, r := range a.Validations {
		out.Validations = append(out.Validations, &moosev1.ValidatorReport{
			Validator: r.Validator, Passed: r.Passed, Skipped: r.Skipped, Error: r.Error,
			TestsTotal: int32(r.TestsTotal), TestsPassed: int32(r.TestsPassed), TestsFailed: int32(r.TestsFailed),
			TestsSkipped: int32(r.TestsSkipped), Coverage: r.Coverage, TestsAdded: r.TestsAdded,
			Log: r.Log, LogTruncated: r.LogTruncated, DurationMs: r.DurationMS,
		})
	}
	if sc := a.Score; sc != nil {
		out.Scored = true
		out.OverallScore = sc.Overall
		out.ScorePassed = sc.Passed
		out.Gate = sc.Gate
		for _, d := range sc.Dimensions {
			out.Dimensions = append(out.Dimensions, &moosev1.DimensionScore{Name: d.Name, Score: d.Score, Weight: d.Weight, Reasons: d.Reasons})
		}
	}
	out.HiddenTests = acceptanceToProto(a.Acceptance, seeHidden)
	return out
}
