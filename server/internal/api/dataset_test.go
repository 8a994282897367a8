package api_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dataset"
	"github.com/moosehq/moose/server/internal/dbtest"
)

func TestExportDataset(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := t.Context()
	project := uuid.New()
	_, err := pool.Exec(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language) VALUES ($1, 'p', 'https://example.com/r.git', 'main', 'go')`, project)
	require.NoError(t, err)
	wo := uuid.New()
	_, err = pool.Exec(ctx, `INSERT INTO work_orders (id, project_id, title, complexity, status) VALUES ($1, $2, 'Add X', 2, 'completed')`, wo, project)
	require.NoError(t, err)
	for _, a := range []struct {
		cycle    int
		proposal string
		score    map[string]any
	}{
		{1, "broken", map[string]any{"overall": 2, "passed": false}},
		{2, "fixed", map[string]any{"overall": 6.5, "passed": true}},
	} {
		_, err = pool.Exec(ctx, `INSERT INTO attempts (id, work_order_id, execution, cycle, raw_proposal, score) VALUES ($1, $2, 1, $3, $4, $5)`,
			uuid.New(), wo, a.cycle, a.proposal, a.score)
		require.NoError(t, err)
	}
	h := api.NewDatasetHandler(dataset.NewService(pool, nil), nil)

	// Every problem is reported at once.
	_, err = h.ExportDataset(ctx, &moosev1.ExportDatasetRequest{Kind: "rl", ProjectId: "nope", VariantId: "nah", ValidationFraction: proto.Float64(1)})
	v := violations(t, err)
	require.Contains(t, v, "kind")
	require.Contains(t, v, "project_id")
	require.Contains(t, v, "variant_id")
	require.Contains(t, v, "validation_fraction")

	// Unset min_score means 7, which the 6.5 fix does not reach.
	resp, err := h.ExportDataset(ctx, &moosev1.ExportDatasetRequest{Kind: "sft"})
	require.NoError(t, err)
	require.Empty(t, resp.GetRecords())

	// An explicit 0 is a real threshold, not "unset"; so is a 0 fraction.
	resp, err = h.ExportDataset(ctx, &moosev1.ExportDatasetRequest{Kind: "dpo", ProjectId: project.String(),
		MinScore: proto.Float64(0), ValidationFraction: proto.Float64(0)})
	require.NoError(t, err)
	require.Len(t, resp.GetRecords(), 1)
	require.EqualValues(t, 1, resp.GetTrainCount())
	require.EqualValues(t, 0, resp.GetValidationCount())
	require.EqualValues(t, 1, resp.GetWorkOrderCount())
	rec := resp.GetRecords()[0]
	require.Equal(t, "train", rec.GetSplit())
	require.Equal(t, wo.String(), rec.GetWorkOrderId())
	var pair dataset.DPORecord
	require.NoError(t, json.Unmarshal([]byte(rec.GetJsonl()), &pair))
	require.Equal(t, "fixed", pair.Chosen[0].Content)
	require.Equal(t, "broken", pair.Rejected[0].Content)
}
