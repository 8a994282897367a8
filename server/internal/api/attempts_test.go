package api_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/workorder"
)

// workOrderWithoutAttempts stores a project and a work order that has not run.
func workOrderWithoutAttempts(t *testing.T) (*pgxpool.Pool, uuid.UUID) {
	t.Helper()
	pool := dbtest.New(t)
	project, wo := uuid.New(), uuid.New()
	_, err := pool.Exec(t.Context(), `INSERT INTO projects (id, name, repo_url, default_branch, language) VALUES ($1, 'p', 'https://example.com/r.git', 'main', 'go')`, project)
	require.NoError(t, err)
	_, err = pool.Exec(t.Context(), `INSERT INTO work_orders (id, project_id, title, complexity, status) VALUES ($1, $2, 'Add X', 2, 'needs_review')`, wo, project)
	require.NoError(t, err)
	return pool, wo
}

// A work order's attempts come in pages, large proposals and logs are
// trimmed (head and tail, marked) unless full is asked for, and a page stops
// early rather than grow past its byte budget.
func TestAttemptsArePagedAndTrimmed(t *testing.T) {
	t.Parallel()
	pool, wo := workOrderWithoutAttempts(t)
	ctx := t.Context()
	// A 1 MiB proposal of multi-byte runes with distinct ends, and a 40 KiB log.
	big := "HEAD-" + strings.Repeat("é", 512<<10) + "-TAIL"
	log := strings.Repeat("x", 40<<10) + "the verdict"
	reports, err := json.Marshal([]map[string]any{{"validator": "test", "passed": false, "log": log, "coverage": -1, "duration_ms": 5}})
	require.NoError(t, err)
	type row struct {
		execution int
		shadow    bool
		cycle     int
		proposal  string
	}
	rows := []row{{2, false, 1, "exec 2"}, {1, true, 1, "shadow"}, {1, false, 2, big}, {1, false, 1, "small"}, {1, false, 3, "third"}}
	for _, r := range rows {
		_, err := pool.Exec(ctx, `INSERT INTO attempts (id, work_order_id, execution, shadow, cycle, raw_proposal, validations) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			uuid.New(), wo, r.execution, r.shadow, r.cycle, r.proposal, reports)
		require.NoError(t, err)
	}
	h := api.NewWorkOrderHandler(workorder.NewService(pool, slog.New(slog.DiscardHandler)), nil, nil, slog.New(slog.DiscardHandler))
	list := func(req *moosev1.ListWorkOrderAttemptsRequest) *moosev1.ListWorkOrderAttemptsResponse {
		t.Helper()
		req.Id = wo.String()
		resp, err := h.ListWorkOrderAttempts(ctx, req)
		require.NoError(t, err)
		return resp
	}
	key := func(a *moosev1.Attempt) string {
		shadow := "-"
		if a.GetShadow() {
			shadow = "s"
		}
		return fmt.Sprintf("%d%s%d", a.GetExecution(), shadow, a.GetCycle())
	}

	// Pages of two, in execution, shadow, cycle order, until the token runs out.
	var order []string
	var pages int
	tok := ""
	for {
		resp := list(&moosev1.ListWorkOrderAttemptsRequest{PageSize: 2, PageToken: tok})
		pages++
		require.LessOrEqual(t, len(resp.GetAttempts()), 2)
		for _, a := range resp.GetAttempts() {
			order = append(order, key(a))
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	require.Equal(t, []string{"1-1", "1-2", "1-3", "1s1", "2-1"}, order)
	require.Equal(t, 3, pages)

	// Not full: the big proposal keeps its head and tail, marked, at about 64 KiB.
	all := list(&moosev1.ListWorkOrderAttemptsRequest{})
	require.Empty(t, all.GetNextPageToken())
	require.Len(t, all.GetAttempts(), 5)
	trimmed := all.GetAttempts()[1]
	require.True(t, trimmed.GetRawProposalTruncated())
	require.EqualValues(t, len(big), trimmed.GetRawProposalBytes())
	require.True(t, strings.HasPrefix(trimmed.GetRawProposal(), "HEAD-"))
	require.True(t, strings.HasSuffix(trimmed.GetRawProposal(), "-TAIL"))
	require.Contains(t, trimmed.GetRawProposal(), "bytes not shown")
	require.LessOrEqual(t, len(trimmed.GetRawProposal()), workorder.ProposalShown+100)
	require.True(t, strings.ToValidUTF8(trimmed.GetRawProposal(), "?") == trimmed.GetRawProposal(), "cut at rune boundaries")
	small := all.GetAttempts()[0]
	require.False(t, small.GetRawProposalTruncated())
	require.Equal(t, "small", small.GetRawProposal())
	v := small.GetValidations()[0]
	require.True(t, v.GetLogTruncated())
	require.True(t, strings.HasSuffix(v.GetLog(), "the verdict"), "a log keeps its tail")
	require.LessOrEqual(t, len(v.GetLog()), workorder.LogShown+len("…"))
	require.Less(t, proto.Size(all), 200<<10)

	// Full: everything whole.
	full := list(&moosev1.ListWorkOrderAttemptsRequest{Full: true})
	require.Equal(t, big, full.GetAttempts()[1].GetRawProposal())
	require.False(t, full.GetAttempts()[1].GetRawProposalTruncated())
	require.Equal(t, log, full.GetAttempts()[0].GetValidations()[0].GetLog())
	require.False(t, full.GetAttempts()[0].GetValidations()[0].GetLogTruncated())

	// A bad token is the caller's error, named.
	_, err = h.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: wo.String(), PageToken: "bm9wZQ"})
	require.Contains(t, violations(t, err), "page_token")
}

// A page ends early once it holds its byte budget: never one response of
// several large full proposals.
func TestAttemptsPageStopsAtItsByteBudget(t *testing.T) {
	t.Parallel()
	pool, wo := workOrderWithoutAttempts(t)
	ctx := t.Context()
	for cycle := 1; cycle <= 4; cycle++ {
		_, err := pool.Exec(ctx, `INSERT INTO attempts (id, work_order_id, execution, cycle, raw_proposal) VALUES ($1, $2, 1, $3, $4)`,
			uuid.New(), wo, cycle, strings.Repeat("a", 2<<20))
		require.NoError(t, err)
	}
	svc := workorder.NewService(pool, slog.New(slog.DiscardHandler))
	var sizes []int
	tok := ""
	for {
		as, next, err := svc.Attempts(ctx, wo, workorder.AttemptsPage{Full: true, Token: tok})
		require.NoError(t, err)
		require.NotEmpty(t, as)
		sizes = append(sizes, len(as))
		if tok = next; tok == "" {
			break
		}
	}
	require.Equal(t, []int{1, 1, 1, 1}, sizes, "4 MiB a page: a second 2 MiB proposal (and its overhead) would pass it")
}

// TestAttemptsKeepCacheTokens: a cycle's prompt-cache counts are stored with
// it, come back when an interrupted execution resumes (Cycles), sum into the
// execution's usage and are shown by ListWorkOrderAttempts.
func TestAttemptsKeepCacheTokens(t *testing.T) {
	t.Parallel()
	pool, wo := workOrderWithoutAttempts(t)
	ctx := t.Context()
	_, err := pool.Exec(ctx, `UPDATE work_orders SET executions = 1 WHERE id = $1`, wo)
	require.NoError(t, err)
	svc := workorder.NewService(pool, slog.New(slog.DiscardHandler))
	for i, r := range []workorder.CycleRecord{
		{Cycle: 1, InputTokens: 4450, CacheReadInputTokens: 0, CacheWriteInputTokens: 1800, OutputTokens: 300, CostUSD: 0.02},
		{Cycle: 2, InputTokens: 5000, CacheReadInputTokens: 4300, CacheWriteInputTokens: 0, OutputTokens: 200, CostUSD: 0.01},
	} {
		r.WorkOrderID, r.Execution, r.Model = wo, 1, "claude-sonnet-4-5"
		r.Edits, r.EditFindings, r.ChangedFiles, r.Validations, r.Score = []byte("null"), []byte("[]"), []byte("[]"), []byte("[]"), []byte("null")
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		require.NoError(t, svc.SaveCycleTx(ctx, tx, r), "cycle %d", i+1)
		require.NoError(t, tx.Commit(ctx))
	}
	cycles, err := svc.Cycles(ctx, wo, 1, false)
	require.NoError(t, err)
	require.Len(t, cycles, 2)
	require.EqualValues(t, 1800, cycles[0].CacheWriteInputTokens)
	require.EqualValues(t, 4300, cycles[1].CacheReadInputTokens)
	u, err := svc.ExecutionCost(ctx, wo)
	require.NoError(t, err)
	require.InDelta(t, 0.03, u.CostUSD, 1e-12)
	u.CostUSD = 0
	require.Equal(t, workorder.Usage{InputTokens: 9450, CacheReadInputTokens: 4300, CacheWriteInputTokens: 1800, OutputTokens: 500}, u)

	h := api.NewWorkOrderHandler(svc, nil, nil, slog.New(slog.DiscardHandler))
	resp, err := h.ListWorkOrderAttempts(ctx, &moosev1.ListWorkOrderAttemptsRequest{Id: wo.String()})
	require.NoError(t, err)
	require.Len(t, resp.GetAttempts(), 2)
	require.EqualValues(t, 1800, resp.GetAttempts()[0].GetCacheWriteInputTokens())
	require.EqualValues(t, 4300, resp.GetAttempts()[1].GetCacheReadInputTokens())
	require.EqualValues(t, 5000, resp.GetAttempts()[1].GetInputTokens())
}
