package api_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/experiment"
)

func TestExperimentHandler(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := t.Context()
	svc := experiment.NewService(pool, nil)
	h := api.NewExperimentHandler(svc, nil)

	base, cand := uuid.New(), uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO variants (id, name, plugin_name) VALUES ($1, 'base', 'replay'), ($2, 'cand', 'replay')`, base, cand)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE routing_tiers SET variant_id = $1 WHERE name = 'cheap'`, base)
	require.NoError(t, err)
	project := uuid.New()
	_, err = pool.Exec(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language) VALUES ($1, 'p', '/p', 'main', 'go')`, project)
	require.NoError(t, err)

	// Invalid requests come back as InvalidArgument with one violation per field.
	_, err = h.StartExperiment(ctx, &moosev1.StartExperimentRequest{Tier: "cheap", CandidateVariant: "base",
		CandidateShare: 2, Config: &moosev1.ExperimentConfig{Alpha: new(1.5)}})
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	require.ElementsMatch(t, []string{"candidate_share", "candidate_variant", "config.alpha"}, fields)

	// The actor comes from metadata when the request names none; unset
	// config fields take the defaults, set ones (even zero) are kept.
	mdCtx := metadata.NewIncomingContext(ctx, metadata.Pairs(api.ActorMetadataKey, "alice"))
	started, err := h.StartExperiment(mdCtx, &moosev1.StartExperimentRequest{Tier: "cheap", CandidateVariant: "cand",
		CandidateShare: 1, Config: &moosev1.ExperimentConfig{Margin: new(0.0), BudgetWorkOrders: new(int32(400)),
			BudgetDuration: durationpb.New(72 * 3600e9)}})
	require.NoError(t, err)
	e := started.GetExperiment()
	require.Equal(t, "alice", e.GetStartedBy())
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING, e.GetStatus())
	require.Equal(t, base.String(), e.GetBaselineVariantId())
	require.Equal(t, 0.0, e.GetConfig().GetMargin())
	require.Equal(t, 6.0, e.GetConfig().GetFloor())
	require.Equal(t, int32(400), e.GetConfig().GetBudgetWorkOrders())
	require.Equal(t, "72h0m0s", e.GetConfig().GetBudgetDuration().AsDuration().String())
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_CONTINUE, e.GetDecision().GetOutcome())

	_, err = h.StartExperiment(ctx, &moosev1.StartExperimentRequest{Tier: "cheap", CandidateVariant: "cand"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), err)

	// Finish ten candidate work orders far below the floor: the rule rolls
	// the candidate back, and the decision shows through the API.
	for range 10 {
		wo := uuid.New()
		_, err := pool.Exec(ctx, `INSERT INTO work_orders (id, project_id, title, complexity, status, result)
			VALUES ($1, $2, 't', 2, 'completed', '{"dimensions": [{"name": "correctness", "score": 3}, {"name": "style", "score": 5}]}')`, wo, project)
		require.NoError(t, err)
		a, ok, err := svc.Assign(ctx, wo, "cheap", base)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, svc.Observe(ctx, wo, experiment.ExecutionResult{VariantID: a.VariantID, Score: 3 + float64(len(a.Arm)%2), CostUSD: 0.01}))
	}
	got, err := h.GetExperiment(ctx, &moosev1.GetExperimentRequest{Id: e.GetId()})
	require.NoError(t, err)
	e = got.GetExperiment()
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_ROLLED_BACK, e.GetStatus())
	d := e.GetDecision()
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_ROLLBACK, d.GetOutcome())
	require.Contains(t, d.GetTriggers(), string(experiment.TriggerBelowFloor))
	require.Equal(t, "auto", d.GetDecidedBy())
	require.NotNil(t, d.GetDecideTime())
	require.Less(t, d.GetFloor().GetUpper(), 6.0)
	require.Contains(t, d.GetReason(), "below the floor")
	require.Equal(t, int32(10), e.GetCandidate().GetN())
	require.NotNil(t, e.GetCandidate().GetScoreCs())
	require.Len(t, e.GetCandidate().GetDimensions(), 2)
	require.Equal(t, "correctness", e.GetCandidate().GetDimensions()[0].GetName())
	require.Equal(t, 3.0, e.GetCandidate().GetDimensions()[0].GetMean())
	require.Equal(t, int32(10), e.GetCandidate().GetDimensions()[0].GetN())
	require.Equal(t, int32(10), e.GetLooks())
	require.Len(t, e.GetEvents(), 2)
	require.Equal(t, "rollback", e.GetEvents()[1].GetType())

	// Manual actions on an ended experiment: refused or recorded with the actor.
	_, err = h.StopExperiment(ctx, &moosev1.StopExperimentRequest{Id: e.GetId(), Actor: "bob"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), err)
	_, err = h.PromoteExperiment(ctx, &moosev1.PromoteExperimentRequest{Id: e.GetId()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), err)

	second, err := h.StartExperiment(ctx, &moosev1.StartExperimentRequest{Tier: "cheap", CandidateVariant: cand.String(), Actor: "carol"})
	require.NoError(t, err)
	require.Equal(t, 0.2, second.GetExperiment().GetCandidateShare(), "default share")
	stopped, err := h.StopExperiment(mdCtx, &moosev1.StopExperimentRequest{Id: second.GetExperiment().GetId(), Actor: "bob", Reason: "budget freeze"})
	require.NoError(t, err)
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_STOPPED, stopped.GetExperiment().GetStatus())
	require.Equal(t, "bob", stopped.GetExperiment().GetDecision().GetDecidedBy(), "the request's actor wins over metadata")
	require.Equal(t, moosev1.DecisionOutcome_DECISION_OUTCOME_STOP, stopped.GetExperiment().GetDecision().GetOutcome())
	promoted, err := h.PromoteExperiment(mdCtx, &moosev1.PromoteExperimentRequest{Id: second.GetExperiment().GetId()})
	require.NoError(t, err)
	require.Equal(t, moosev1.ExperimentStatus_EXPERIMENT_STATUS_PROMOTED, promoted.GetExperiment().GetStatus())
	require.Equal(t, "alice", promoted.GetExperiment().GetDecision().GetDecidedBy())
	var tier uuid.UUID
	require.NoError(t, pool.QueryRow(ctx, `SELECT variant_id FROM routing_tiers WHERE name = 'cheap'`).Scan(&tier))
	require.Equal(t, cand, tier)
	_, err = h.RollbackExperiment(ctx, &moosev1.RollbackExperimentRequest{Id: second.GetExperiment().GetId()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), err)

	list, err := h.ListExperiments(ctx, &moosev1.ListExperimentsRequest{Status: "EXPERIMENT_STATUS_ROLLED_BACK"})
	require.NoError(t, err)
	require.Len(t, list.GetExperiments(), 1)
	require.Equal(t, e.GetId(), list.GetExperiments()[0].GetId())
	list, err = h.ListExperiments(ctx, &moosev1.ListExperimentsRequest{Tier: "cheap"})
	require.NoError(t, err)
	require.Len(t, list.GetExperiments(), 2)
	_, err = h.ListExperiments(ctx, &moosev1.ListExperimentsRequest{Status: "paused"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	_, err = h.GetExperiment(ctx, &moosev1.GetExperimentRequest{Id: "nope"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	_, err = h.GetExperiment(ctx, &moosev1.GetExperimentRequest{Id: uuid.NewString()})
	require.Equal(t, codes.NotFound, status.Code(err))
}
