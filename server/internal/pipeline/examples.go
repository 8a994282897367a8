package pipeline

import (
	"context"
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
	accepted, err := e.deps.WorkOrders.AcceptedInProject(ctx, projectID, woID)
	if err != nil {
		return nil, err
	}
	want := words(wo.Title + " " + wo.Description)
	type scored struct {
		ex    Example
		score float64
	}
	var cands []scored
	for _, a := range accepted {
		ex := Example{WorkOrder: WorkOrderInfo{Title: a.Title, Description: a.Description, AcceptanceCriteria: a.Criteria, Complexity: a.Complexity},
			Proposal: a.Proposal}
		if s := overlap(want, words(ex.WorkOrder.Title+" "+ex.WorkOrder.Description)); s > 0 {
			cands = append(cands, scored{ex, s})
		}
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
