package api

import (
	"context"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/token"
)

// ActorMetadataKey is the gRPC metadata key naming who makes a request, used
// when a request's own actor field is empty.
const ActorMetadataKey = "x-moose-actor"

// defaultCandidateShare applies when StartExperimentRequest leaves the share 0.
const defaultCandidateShare = 0.2

// ExperimentHandler serves moose.v1.ExperimentService.
type ExperimentHandler struct {
	moosev1.UnimplementedExperimentServiceServer
	svc *experiment.Service
	log *slog.Logger
}

// NewExperimentHandler returns an ExperimentHandler over svc.
func NewExperimentHandler(svc *experiment.Service, log *slog.Logger) *ExperimentHandler {
	return &ExperimentHandler{svc: svc, log: log}
}

func (h *ExperimentHandler) StartExperiment(ctx context.Context, req *moosev1.StartExperimentRequest) (*moosev1.StartExperimentResponse, error) {
	share := req.GetCandidateShare()
	if share == 0 {
		share = defaultCandidateShare
	}
	r, err := h.svc.Start(ctx, experiment.StartSpec{
		Tier:           req.GetTier(),
		Baseline:       req.GetBaselineVariant(),
		Candidate:      req.GetCandidateVariant(),
		CandidateShare: share,
		Shadow:         req.GetShadow(),
		Config:         configFromProto(req.GetConfig()),
		Actor:          actor(ctx, req.GetActor()),
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.StartExperimentResponse{Experiment: experimentToProto(r)}, nil
}

func (h *ExperimentHandler) ListExperiments(ctx context.Context, req *moosev1.ListExperimentsRequest) (*moosev1.ListExperimentsResponse, error) {
	st, err := experiment.ParseStatus(strings.TrimPrefix(strings.ToLower(req.GetStatus()), "experiment_status_"))
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	rs, err := h.svc.List(ctx, experiment.ListFilter{Tier: req.GetTier(), Status: st})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	resp := &moosev1.ListExperimentsResponse{}
	for _, r := range rs {
		resp.Experiments = append(resp.Experiments, experimentToProto(r))
	}
	return resp, nil
}

func (h *ExperimentHandler) GetExperiment(ctx context.Context, req *moosev1.GetExperimentRequest) (*moosev1.GetExperimentResponse, error) {
	id, err := parseExperimentID(req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	r, err := h.svc.Get(ctx, id)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.GetExperimentResponse{Experiment: experimentToProto(r)}, nil
}

func (h *ExperimentHandler) StopExperiment(ctx context.Context, req *moosev1.StopExperimentRequest) (*moosev1.StopExperimentResponse, error) {
	r, err := h.manual(ctx, req.GetId(), req.GetActor(), req.GetReason(), h.svc.Stop)
	if err != nil {
		return nil, err
	}
	return &moosev1.StopExperimentResponse{Experiment: r}, nil
}

func (h *ExperimentHandler) PromoteExperiment(ctx context.Context, req *moosev1.PromoteExperimentRequest) (*moosev1.PromoteExperimentResponse, error) {
	r, err := h.manual(ctx, req.GetId(), req.GetActor(), req.GetReason(), h.svc.Promote)
	if err != nil {
		return nil, err
	}
	return &moosev1.PromoteExperimentResponse{Experiment: r}, nil
}

func (h *ExperimentHandler) RollbackExperiment(ctx context.Context, req *moosev1.RollbackExperimentRequest) (*moosev1.RollbackExperimentResponse, error) {
	r, err := h.manual(ctx, req.GetId(), req.GetActor(), req.GetReason(), h.svc.Rollback)
	if err != nil {
		return nil, err
	}
	return &moosev1.RollbackExperimentResponse{Experiment: r}, nil
}

func (h *ExperimentHandler) manual(ctx context.Context, rawID, who, reason string,
	do func(context.Context, uuid.UUID, string, string) (experiment.Report, error)) (*moosev1.Experiment, error) {
	id, err := parseExperimentID(rawID)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	r, err := do(ctx, id, actor(ctx, who), reason)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return experimentToProto(r), nil
}

func parseExperimentID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return uuid.Nil, fault.Invalid("id", "not an experiment id: %q", s)
	}
	return id, nil
}

// actor is who makes the request: the name of the token that authenticated
// it (a caller cannot claim to be someone else), else, for calls that reach a
// handler without authentication (in-process use), the request's field, else
// the x-moose-actor metadata, else "unknown".
func actor(ctx context.Context, field string) string {
	if t, ok := token.FromContext(ctx); ok {
		return t.Name
	}
	if a := strings.TrimSpace(field); a != "" {
		return a
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for _, a := range md.Get(ActorMetadataKey) {
			if a = strings.TrimSpace(a); a != "" {
				return a
			}
		}
	}
	return "unknown"
}

// configFromProto starts from the defaults and applies the fields set.
func configFromProto(p *moosev1.ExperimentConfig) experiment.Config {
	c := experiment.DefaultConfig()
	if p == nil {
		return c
	}
	if p.Alpha != nil {
		c.Alpha = p.GetAlpha()
	}
	if p.NStarDiff != nil {
		c.NStarDiff = p.GetNStarDiff()
	}
	if p.NStarFloor != nil {
		c.NStarFloor = p.GetNStarFloor()
	}
	if p.Margin != nil {
		c.Margin = p.GetMargin()
	}
	if p.Floor != nil {
		c.Floor = p.GetFloor()
	}
	if p.CostRatio != nil {
		c.CostRatio = p.GetCostRatio()
	}
	if p.MinSamplesPromote != nil {
		c.MinSamplesPromote = int(p.GetMinSamplesPromote())
	}
	if p.MinSamplesRollback != nil {
		c.MinSamplesRollback = int(p.GetMinSamplesRollback())
	}
	if p.BudgetWorkOrders != nil {
		c.BudgetWOs = int(p.GetBudgetWorkOrders())
	}
	if p.BudgetDuration != nil {
		c.BudgetDuration = p.GetBudgetDuration().AsDuration()
	}
	if p.BreakerConsecutive != nil {
		c.BreakerConsecutive = int(p.GetBreakerConsecutive())
	}
	if p.SpendCapUsd != nil {
		c.SpendCap = p.GetSpendCapUsd()
	}
	return c
}

func configToProto(c experiment.Config) *moosev1.ExperimentConfig {
	i32 := func(n int) *int32 { v := int32(n); return &v }
	f64 := func(f float64) *float64 { return &f }
	return &moosev1.ExperimentConfig{
		Alpha:              f64(c.Alpha),
		NStarDiff:          f64(c.NStarDiff),
		NStarFloor:         f64(c.NStarFloor),
		Margin:             f64(c.Margin),
		Floor:              f64(c.Floor),
		CostRatio:          f64(c.CostRatio),
		MinSamplesPromote:  i32(c.MinSamplesPromote),
		MinSamplesRollback: i32(c.MinSamplesRollback),
		BudgetWorkOrders:   i32(c.BudgetWOs),
		BudgetDuration:     durationpb.New(c.BudgetDuration),
		BreakerConsecutive: i32(c.BreakerConsecutive),
		SpendCapUsd:        f64(c.SpendCap),
	}
}

var experimentStatusToProto = map[experiment.Status]moosev1.ExperimentStatus{
	experiment.StatusRunning:      moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING,
	experiment.StatusPromoted:     moosev1.ExperimentStatus_EXPERIMENT_STATUS_PROMOTED,
	experiment.StatusRolledBack:   moosev1.ExperimentStatus_EXPERIMENT_STATUS_ROLLED_BACK,
	experiment.StatusInconclusive: moosev1.ExperimentStatus_EXPERIMENT_STATUS_INCONCLUSIVE,
	experiment.StatusStopped:      moosev1.ExperimentStatus_EXPERIMENT_STATUS_STOPPED,
}

var outcomeToProto = map[experiment.Outcome]moosev1.DecisionOutcome{
	experiment.OutcomeContinue:     moosev1.DecisionOutcome_DECISION_OUTCOME_CONTINUE,
	experiment.OutcomePromote:      moosev1.DecisionOutcome_DECISION_OUTCOME_PROMOTE,
	experiment.OutcomeRollback:     moosev1.DecisionOutcome_DECISION_OUTCOME_ROLLBACK,
	experiment.OutcomeInconclusive: moosev1.DecisionOutcome_DECISION_OUTCOME_INCONCLUSIVE,
	experiment.OutcomeBreakerStop:  moosev1.DecisionOutcome_DECISION_OUTCOME_BREAKER_STOP,
	experiment.OutcomeStop:         moosev1.DecisionOutcome_DECISION_OUTCOME_STOP,
}

func experimentToProto(r experiment.Report) *moosev1.Experiment {
	out := &moosev1.Experiment{
		Id:                 r.ID.String(),
		Tier:               r.Tier,
		BaselineVariantId:  r.BaselineVariantID.String(),
		CandidateVariantId: r.CandidateVariantID.String(),
		CandidateShare:     r.CandidateShare,
		Shadow:             r.Shadow,
		Config:             configToProto(r.Config),
		Status:             experimentStatusToProto[r.Status],
		StartedBy:          r.StartedBy,
		StartTime:          timestamppb.New(r.StartedAt),
		Baseline:           armToProto(r.Baseline),
		Candidate:          armToProto(r.Candidate),
		Decision:           decisionToProto(r.Current),
		ScoreDiffPValue:    r.ScoreDiffP,
		PassDiffPValue:     r.PassDiffP,
		Looks:              int32(r.Looks),
	}
	if r.EndedAt != nil {
		out.EndTime = timestamppb.New(*r.EndedAt)
	}
	if !r.Live {
		out.Decision.DecidedBy = r.DecidedBy
		if r.DecidedAt != nil {
			out.Decision.DecideTime = timestamppb.New(*r.DecidedAt)
		}
	}
	for _, e := range r.Events {
		out.Events = append(out.Events, &moosev1.ExperimentEvent{
			Id: e.ID, Type: e.Type, Actor: e.Actor, Message: e.Message, CreateTime: timestamppb.New(e.CreatedAt),
		})
	}
	return out
}

func armToProto(a experiment.ArmStats) *moosev1.ExperimentArm {
	out := &moosev1.ExperimentArm{
		Arm:                string(a.Arm),
		VariantId:          a.VariantID.String(),
		N:                  int32(a.N),
		Crashed:            int32(a.Crashed),
		MeanScore:          a.Mean,
		ScoreSd:            a.SD,
		Passed:             int32(a.Passed),
		PassRate:           a.PassRate,
		SpendUsd:           a.Spend,
		CostPerAcceptedUsd: a.CostPerAccepted,
		ScoreCs:            csToProto(a.ScoreCS),
		LongestFailureRun:  int32(a.LongestFailureRun),
	}
	for _, d := range a.Dimensions {
		out.Dimensions = append(out.Dimensions, &moosev1.DimensionMean{Name: d.Name, Mean: d.Mean, N: int32(d.N)})
	}
	return out
}

func decisionToProto(d experiment.Decision) *moosev1.Decision {
	out := &moosev1.Decision{
		Outcome:         outcomeToProto[d.Outcome],
		Reason:          d.Reason,
		Total:           int32(d.Total),
		Elapsed:         durationpb.New(d.Elapsed),
		ScoreDiff:       csToProto(d.ScoreDiff),
		ScoreDiffPValue: d.ScoreDiffP,
		Floor:           csToProto(d.Floor),
		PassDiff:        csToProto(d.PassDiff),
		PassDiffPValue:  d.PassDiffP,
		CostExcess:      csToProto(d.CostExcess),
		CostRatio:       d.CostRatio,
	}
	for _, t := range d.Triggers {
		out.Triggers = append(out.Triggers, string(t))
	}
	if w := d.Welch; w != nil {
		out.Welch = &moosev1.WelchTest{Diff: w.Diff, StandardError: w.SE, T: w.T, DegreesOfFreedom: w.DF, PValue: w.P}
	}
	if z := d.PassZ; z != nil {
		out.PassZ = &moosev1.ProportionZTest{Diff: z.Diff, StandardError: z.SE, Z: z.Z, PValue: z.P}
	}
	return out
}

func csToProto(cs *experiment.CS) *moosev1.ConfidenceSequence {
	if cs == nil {
		return nil
	}
	return &moosev1.ConfidenceSequence{
		Estimate: cs.Estimate, StandardError: cs.SE, N: int32(cs.N), Lower: cs.Lower, Upper: cs.Upper,
	}
}
