package pipeline

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/workorder"
)

func TestExamplesAreSimilarAcceptedAttemptsOfTheProject(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	project, other := uuid.New(), uuid.New()
	for _, p := range []uuid.UUID{project, other} {
		_, err := pool.Exec(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language) VALUES ($1, $2, '/r', 'main', 'go')`, p, p.String())
		require.NoError(t, err)
	}
	add := func(projectID uuid.UUID, title, status string, passed bool, proposal string) uuid.UUID {
		id := uuid.New()
		_, err := pool.Exec(ctx, `INSERT INTO work_orders (id, project_id, title, complexity, status, executions) VALUES ($1,$2,$3,2,$4,1)`, id, projectID, title, status)
		require.NoError(t, err)
		_, err = pool.Exec(ctx, `INSERT INTO attempts (id, work_order_id, execution, cycle, raw_proposal, score) VALUES ($1,$2,1,1,$3,$4)`,
			uuid.New(), id, proposal, map[string]any{"passed": passed, "overall": 9})
		require.NoError(t, err)
		return id
	}
	add(project, "Add a Reverse function to strutil", "completed", true, "reverse proposal")
	add(project, "Add a Capitalize function to strutil", "completed", true, "capitalize proposal")
	add(project, "Add a Slugify function to strutil", "needs_review", false, "stub proposal")
	add(project, "Support the modulo operator in calc", "completed", true, "modulo proposal")
	add(other, "Add a Reverse function to strutil", "completed", true, "other project's proposal")
	current := add(project, "Add a Reverse function for words to strutil", "in_progress", false, "")

	e := &Engine{deps: Deps{Pool: pool, WorkOrders: workorder.NewService(pool, slog.New(slog.DiscardHandler))}}
	got, err := e.examples(ctx, current, WorkOrderInfo{Title: "Add a Reverse function for words to strutil"}, project)
	require.NoError(t, err)
	var proposals []string
	for _, ex := range got {
		proposals = append(proposals, ex.Proposal)
	}
	require.Equal(t, []string{"reverse proposal", "capitalize proposal"}, proposals,
		"most similar first; only accepted attempts of this project, sharing words with it; never the work order itself")
}

func TestOverlapIsJaccardOfWords(t *testing.T) {
	t.Parallel()
	require.InDelta(t, 0.5, overlap(words("add reverse function"), words("Add a Reverse helper")), 1e-9)
	require.Zero(t, overlap(words(""), words("anything")))
}
