package dataset_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/server/internal/dataset"
	"github.com/moosehq/moose/server/internal/dbtest"
	"github.com/moosehq/moose/server/internal/fault"
)

// fixture inserts real rows the way the pipeline stores them.
type fixture struct {
	t    *testing.T
	pool *pgxpool.Pool
	n    int
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, pool: dbtest.New(t)}
}

func (f *fixture) project() uuid.UUID {
	f.t.Helper()
	f.n++
	id := uuid.New()
	_, err := f.pool.Exec(f.t.Context(), `INSERT INTO projects (id, name, repo_url, default_branch, language)
		VALUES ($1, $2, 'https://example.com/r.git', 'main', 'go')`, id, fmt.Sprintf("p%d", f.n))
	require.NoError(f.t, err)
	return id
}

func (f *fixture) workOrder(project uuid.UUID, title, status string) uuid.UUID {
	f.t.Helper()
	id := uuid.New()
	// created_at increases with each insert so the export order is known.
	f.n++
	_, err := f.pool.Exec(f.t.Context(), `INSERT INTO work_orders (id, project_id, title, description, acceptance_criteria, complexity, status, created_at)
		VALUES ($1, $2, $3, $4, $5, 3, $6, now() + make_interval(secs => $7))`,
		id, project, title, "Description of "+title, []string{"criterion one of " + title, "criterion two"}, status, f.n)
	require.NoError(f.t, err)
	return id
}

type attempt struct {
	execution, cycle int
	shadow           bool
	variant          uuid.UUID
	proposal         string
	// scored false stores a NULL score (a cycle that never got scored).
	scored  bool
	passed  bool
	overall float64
}

func (f *fixture) attempt(wo uuid.UUID, a attempt) {
	f.t.Helper()
	var score any
	if a.scored {
		score = map[string]any{"overall": a.overall, "passed": a.passed, "dimensions": []any{}, "gate": ""}
	}
	var variant *uuid.UUID
	if a.variant != uuid.Nil {
		variant = &a.variant
	}
	if a.execution == 0 {
		a.execution = 1
	}
	_, err := f.pool.Exec(f.t.Context(), `INSERT INTO attempts (id, work_order_id, execution, cycle, shadow, variant_id, model, raw_proposal, build_passed, tests_passed, score)
		VALUES ($1,$2,$3,$4,$5,$6,'model-x',$7,$8,$8,$9)`,
		uuid.New(), wo, a.execution, a.cycle, a.shadow, variant, a.proposal, a.passed, score)
	require.NoError(f.t, err)
}

func pass(cycle int, proposal string, overall float64) attempt {
	return attempt{cycle: cycle, proposal: proposal, scored: true, passed: true, overall: overall}
}

func fail(cycle int, proposal string) attempt {
	return attempt{cycle: cycle, proposal: proposal, scored: true, passed: false, overall: 3}
}

func export(t *testing.T, pool *pgxpool.Pool, f dataset.Filter) []dataset.Record {
	t.Helper()
	recs, err := dataset.NewService(pool, nil).Export(t.Context(), f)
	require.NoError(t, err)
	return recs
}

func sftFilter() dataset.Filter {
	return dataset.Filter{Kind: dataset.KindSFT, MinScore: dataset.DefaultMinScore, ValidationFraction: dataset.DefaultValidationFraction}
}

func dpoFilter() dataset.Filter {
	f := sftFilter()
	f.Kind = dataset.KindDPO
	return f
}

// decodeSFT parses a line strictly: any field outside the documented shape
// fails the test.
func decodeSFT(t *testing.T, line []byte) dataset.SFTRecord {
	t.Helper()
	require.NotContains(t, string(line), "\n", "a record is one line")
	var r dataset.SFTRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&r), string(line))
	return r
}

func decodeDPO(t *testing.T, line []byte) dataset.DPORecord {
	t.Helper()
	require.NotContains(t, string(line), "\n", "a record is one line")
	var r dataset.DPORecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&r), string(line))
	return r
}

func TestExportSFTOnlyAcceptedFinalAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.project()
	variant := uuid.New()

	refined := f.workOrder(p, "Refined", "completed")
	f.attempt(refined, fail(1, "first try"))
	a := pass(2, "the fix", 8.5)
	a.variant = variant
	f.attempt(refined, a)

	lowScore := f.workOrder(p, "Low score", "completed")
	f.attempt(lowScore, pass(1, "meh", 6.5))

	notCompleted := f.workOrder(p, "Needs review", "needs_review")
	f.attempt(notCompleted, pass(1, "reviewed", 9))

	// The final non-shadow attempt failed; a passing shadow run is never
	// training data.
	shadowOnly := f.workOrder(p, "Shadow passed", "completed")
	f.attempt(shadowOnly, fail(1, "primary failed"))
	f.attempt(shadowOnly, attempt{cycle: 1, shadow: true, proposal: "shadow fix", scored: true, passed: true, overall: 10})

	// A passing earlier cycle does not stand in for a failing final one.
	finalFailed := f.workOrder(p, "Final failed", "completed")
	f.attempt(finalFailed, pass(1, "early pass", 9))
	f.attempt(finalFailed, fail(2, "final fail"))

	unscored := f.workOrder(p, "Unscored", "completed")
	f.attempt(unscored, attempt{cycle: 1, proposal: "never scored"})

	// The last execution's attempt is the final one.
	retried := f.workOrder(p, "Retried", "completed")
	f.attempt(retried, pass(1, "old execution", 9))
	second := pass(1, "new execution", 9.5)
	second.execution = 2
	f.attempt(retried, second)
	f.attempt(retried, attempt{execution: 2, cycle: 2, shadow: true, proposal: "shadow", scored: true, passed: true, overall: 10})

	recs := export(t, f.pool, sftFilter())
	require.Len(t, recs, 2)
	require.Equal(t, refined, recs[0].WorkOrderID, "ordered by work order creation")
	require.Equal(t, retried, recs[1].WorkOrderID)

	r := decodeSFT(t, recs[0].JSON)
	require.Len(t, r.Messages, 3)
	require.Equal(t, "system", r.Messages[0].Role)
	require.Equal(t, dataset.SystemMessage, r.Messages[0].Content)
	require.Equal(t, "user", r.Messages[1].Role)
	require.Equal(t, "# Work order: Refined\n\nDescription of Refined\n\n## Acceptance criteria\n\n- criterion one of Refined\n- criterion two\n", r.Messages[1].Content)
	require.Equal(t, dataset.Message{Role: "assistant", Content: "the fix"}, r.Messages[2])
	require.Equal(t, dataset.Metadata{
		WorkOrderID: refined.String(), ProjectID: p.String(), VariantID: variant.String(),
		Model: "model-x", Score: 8.5, Execution: 1, Cycle: 2,
	}, r.Metadata)

	r = decodeSFT(t, recs[1].JSON)
	require.Equal(t, "new execution", r.Messages[2].Content)
	require.Empty(t, r.Metadata.VariantID)

	// min_score is a real threshold.
	low := sftFilter()
	low.MinScore = 0
	recs = export(t, f.pool, low)
	ids := make([]uuid.UUID, len(recs))
	for i, rec := range recs {
		ids[i] = rec.WorkOrderID
	}
	require.Equal(t, []uuid.UUID{refined, lowScore, retried}, ids)
}

func TestExportDPOPairsFailedCyclesWithTheFix(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.project()

	refined := f.workOrder(p, "Refined", "completed")
	f.attempt(refined, fail(1, "bad one"))
	f.attempt(refined, attempt{cycle: 2, proposal: "bad two, unscored"})
	f.attempt(refined, attempt{cycle: 3, proposal: ""}) // provider error: nothing to reject
	f.attempt(refined, attempt{cycle: 1, shadow: true, proposal: "shadow bad", scored: true, overall: 1})
	f.attempt(refined, pass(4, "good", 9))

	// Only cycles of the accepted execution pair with its fix.
	retried := f.workOrder(p, "Retried", "completed")
	f.attempt(retried, fail(1, "older execution bad"))
	bad := fail(1, "bad in execution two")
	bad.execution = 2
	f.attempt(retried, bad)
	good := pass(2, "good in execution two", 8)
	good.execution = 2
	f.attempt(retried, good)

	firstTry := f.workOrder(p, "First try", "completed")
	f.attempt(firstTry, pass(1, "right away", 10))

	rejectedLow := f.workOrder(p, "Fix below threshold", "completed")
	f.attempt(rejectedLow, fail(1, "bad"))
	f.attempt(rejectedLow, pass(2, "weak fix", 5))

	recs := export(t, f.pool, dpoFilter())
	require.Len(t, recs, 3)

	type pair struct {
		wo               uuid.UUID
		chosen, rejected string
		rejectedCycle    int
		rejectedScore    *float64
	}
	three := 3.0
	want := []pair{
		{refined, "good", "bad one", 1, &three},
		{refined, "good", "bad two, unscored", 2, nil},
		{retried, "good in execution two", "bad in execution two", 1, &three},
	}
	for i, rec := range recs {
		require.Equal(t, want[i].wo, rec.WorkOrderID)
		r := decodeDPO(t, rec.JSON)
		require.Len(t, r.Prompt, 2)
		require.Equal(t, "system", r.Prompt[0].Role)
		require.Equal(t, "user", r.Prompt[1].Role)
		require.Contains(t, r.Prompt[1].Content, "## Acceptance criteria")
		require.Equal(t, []dataset.Message{{Role: "assistant", Content: want[i].chosen}}, r.Chosen)
		require.Equal(t, []dataset.Message{{Role: "assistant", Content: want[i].rejected}}, r.Rejected)
		require.Equal(t, want[i].rejectedCycle, r.Metadata.RejectedCycle)
		require.Equal(t, want[i].rejectedScore, r.Metadata.RejectedScore)
		require.Equal(t, want[i].wo.String(), r.Metadata.WorkOrderID)
	}
}

func TestExportFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p1, p2 := f.project(), f.project()
	v1, v2 := uuid.New(), uuid.New()
	add := func(p, v uuid.UUID, title string) uuid.UUID {
		wo := f.workOrder(p, title, "completed")
		a := pass(1, title+" fix", 9)
		a.variant = v
		f.attempt(wo, a)
		return wo
	}
	p1v1 := add(p1, v1, "p1v1")
	p1v2 := add(p1, v2, "p1v2")
	p2v1 := add(p2, v1, "p2v1")
	// The variant filter looks at the accepted attempt, not earlier cycles.
	mixed := f.workOrder(p2, "mixed", "completed")
	early := fail(1, "v1 failed")
	early.variant = v1
	f.attempt(mixed, early)
	late := pass(2, "v2 fixed", 9)
	late.variant = v2
	f.attempt(mixed, late)

	tests := []struct {
		name             string
		project, variant uuid.UUID
		limit            int
		want             []uuid.UUID
	}{
		{"all", uuid.Nil, uuid.Nil, 0, []uuid.UUID{p1v1, p1v2, p2v1, mixed}},
		{"project", p1, uuid.Nil, 0, []uuid.UUID{p1v1, p1v2}},
		{"variant", uuid.Nil, v1, 0, []uuid.UUID{p1v1, p2v1}},
		{"variant of the fix", uuid.Nil, v2, 0, []uuid.UUID{p1v2, mixed}},
		{"both", p2, v1, 0, []uuid.UUID{p2v1}},
		{"unknown project", uuid.New(), uuid.Nil, 0, nil},
		{"limit", uuid.Nil, uuid.Nil, 2, []uuid.UUID{p1v1, p1v2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			flt := sftFilter()
			flt.ProjectID, flt.VariantID, flt.Limit = tt.project, tt.variant, tt.limit
			var got []uuid.UUID
			for _, r := range export(t, f.pool, flt) {
				got = append(got, r.WorkOrderID)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestExportSplitIsDeterministicAndGroupedByWorkOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.project()
	var wos []uuid.UUID
	for i := range 40 {
		wo := f.workOrder(p, fmt.Sprintf("wo %d", i), "completed")
		f.attempt(wo, fail(1, "bad a"))
		f.attempt(wo, fail(2, "bad b"))
		f.attempt(wo, pass(3, "good", 9))
		wos = append(wos, wo)
	}
	flt := dpoFilter()
	flt.ValidationFraction = 0.3
	first := export(t, f.pool, flt)
	require.Len(t, first, 80)
	require.Equal(t, first, export(t, f.pool, flt), "the same export twice is identical")

	splitOf := map[uuid.UUID]dataset.Split{}
	counts := map[dataset.Split]int{}
	for _, r := range first {
		if s, ok := splitOf[r.WorkOrderID]; ok {
			require.Equal(t, s, r.Split, "all records of a work order share a split")
		}
		splitOf[r.WorkOrderID] = r.Split
		require.Equal(t, dataset.SplitFor(r.WorkOrderID, 0.3), r.Split)
		counts[r.Split]++
	}
	require.Positive(t, counts[dataset.SplitTrain])
	require.Positive(t, counts[dataset.SplitValidation])

	// The split of a work order does not depend on what else is exported.
	flt.Kind, flt.Limit = dataset.KindSFT, 5
	for _, r := range export(t, f.pool, flt) {
		require.Equal(t, splitOf[r.WorkOrderID], r.Split)
	}

	flt.ValidationFraction, flt.Limit = 0, 0
	for _, r := range export(t, f.pool, flt) {
		require.Equal(t, dataset.SplitTrain, r.Split, "fraction 0 puts everything in train")
	}
}

func TestSplitFor(t *testing.T) {
	t.Parallel()
	// Over many ids the validation share tracks the fraction; ids are
	// derived, not random, so the test is deterministic.
	for _, fraction := range []float64{0, 0.1, 0.5, 0.9} {
		val := 0
		const n = 4000
		for i := range n {
			id := uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%d", i))
			s := dataset.SplitFor(id, fraction)
			require.Equal(t, s, dataset.SplitFor(id, fraction))
			if s == dataset.SplitValidation {
				val++
			}
		}
		require.InDelta(t, fraction, float64(val)/n, 0.03, "fraction %v", fraction)
	}
}

func TestExportRejectsInvalidFilters(t *testing.T) {
	t.Parallel()
	svc := dataset.NewService(dbtest.New(t), nil)
	_, err := svc.Export(t.Context(), dataset.Filter{Kind: "rlhf", MinScore: 11, ValidationFraction: 1, Limit: dataset.MaxLimit + 1})
	var ve *fault.ValidationError
	require.True(t, errors.As(err, &ve), "got %v", err)
	var fields []string
	for _, v := range ve.Violations {
		fields = append(fields, v.Field)
	}
	require.Equal(t, []string{"kind", "min_score", "validation_fraction", "limit"}, fields)
}

func TestUserMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, title, description string
		criteria                 []string
		want                     string
	}{
		{"title only", "Add X", "", nil, "# Work order: Add X\n"},
		{"description", "Add X", "  Do it.\n", nil, "# Work order: Add X\n\nDo it.\n"},
		{"criteria", "Add X", "", []string{"a", "b"}, "# Work order: Add X\n\n## Acceptance criteria\n\n- a\n- b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, dataset.UserMessage(tt.title, tt.description, tt.criteria))
		})
	}
}
