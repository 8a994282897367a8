package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// Example is an accepted past attempt shown to the proposer as a few-shot
// example: a work order like this one and the proposal that passed.
type Example struct {
	WorkOrder WorkOrderInfo
	Proposal  string
}

// maxExamples bounds retrieval; a variant's few_shot_count picks how many of
// them its prompt uses.
const maxExamples = 3

// examples retrieves accepted attempts of the same project whose work orders
// share the most words with this one (retrieval from history, DESIGN step 3).
// Only proposals that passed are examples: showing a model its failures as
// models of good work would teach the wrong thing.
func (e *Engine) examples(ctx context.Context, woID uuid.UUID, wo WorkOrderInfo, projectID uuid.UUID) ([]Example, error) {
	rows, err := e.deps.Pool.Query(ctx, `SELECT DISTINCT ON (w.id) w.title, w.description, w.acceptance_criteria, w.complexity, a.raw_proposal
		FROM attempts a JOIN work_orders w ON w.id = a.work_order_id
		WHERE w.project_id = $1 AND w.id <> $2 AND w.status = 'completed' AND NOT a.shadow
		  AND a.execution = w.executions AND (a.score->>'passed')::boolean
		ORDER BY w.id, a.cycle DESC
		LIMIT 500`, projectID, woID)
	if err != nil {
		return nil, fmt.Errorf("find examples: %w", err)
	}
	defer rows.Close()
	want := words(wo.Title + " " + wo.Description)
	type scored struct {
		ex    Example
		score float64
	}
	var cands []scored
	for rows.Next() {
		var ex Example
		var criteria []byte
		if err := rows.Scan(&ex.WorkOrder.Title, &ex.WorkOrder.Description, &criteria, &ex.WorkOrder.Complexity, &ex.Proposal); err != nil {
			return nil, fmt.Errorf("find examples: %w", err)
		}
		_ = json.Unmarshal(criteria, &ex.WorkOrder.AcceptanceCriteria)
		if s := overlap(want, words(ex.WorkOrder.Title+" "+ex.WorkOrder.Description)); s > 0 {
			cands = append(cands, scored{ex, s})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find examples: %w", err)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	var out []Example
	for i := 0; i < len(cands) && i < maxExamples; i++ {
		out = append(out, cands[i].ex)
	}
	return out, nil
}

// words is the set of lower-case words of three letters or more.
func words(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) >= 3 {
			out[w] = true
		}
	}
	return out
}

// overlap is the Jaccard similarity of two word sets.
func overlap(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
