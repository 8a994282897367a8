package workorder

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Attempt is one stored proposal cycle of a work order, decoded from the
// attempts table the pipeline writes.
type Attempt struct {
	ID           uuid.UUID
	Execution    int
	Cycle        int
	Shadow       bool
	VariantID    string // empty when the attempt had no variant
	Model        string
	PromptHash   string
	RawProposal  string
	ChangedFiles []string
	// EditFindings are the problems applying the proposal (Source "edit").
	EditFindings []AttemptFinding
	Validations  []ValidatorReport
	BuildPassed  bool
	TestsPassed  bool
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
	FinishReason string
	DurationMS   int64
	// Score is nil when the cycle was never scored.
	Score     *AttemptScore
	Error     string
	CreatedAt time.Time
}

// Findings returns every finding of the attempt: edit findings first, then
// each validator's in report order.
func (a Attempt) Findings() []AttemptFinding {
	out := append([]AttemptFinding(nil), a.EditFindings...)
	for _, r := range a.Validations {
		out = append(out, r.Findings...)
	}
	return out
}

// AttemptFinding is one problem found in a cycle. The JSON tags match what
// the pipeline stores.
type AttemptFinding struct {
	Source   string `json:"source"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Category string `json:"category"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message"`
}

// ValidatorReport is one validator's stored verdict on a cycle.
type ValidatorReport struct {
	Validator    string           `json:"validator"`
	Passed       bool             `json:"passed"`
	Skipped      bool             `json:"skipped,omitempty"`
	Error        string           `json:"error,omitempty"`
	Findings     []AttemptFinding `json:"findings,omitempty"`
	TestsTotal   int              `json:"tests_total,omitempty"`
	TestsPassed  int              `json:"tests_passed,omitempty"`
	TestsFailed  int              `json:"tests_failed,omitempty"`
	TestsSkipped int              `json:"tests_skipped,omitempty"`
	Coverage     float64          `json:"coverage"`
	TestsAdded   bool             `json:"tests_added,omitempty"`
	Log          string           `json:"log,omitempty"`
	DurationMS   int64            `json:"duration_ms"`
}

// AttemptScore is a cycle's stored score.
type AttemptScore struct {
	Overall    float64     `json:"overall"`
	Passed     bool        `json:"passed"`
	Dimensions []Dimension `json:"dimensions"`
	Gate       string      `json:"gate,omitempty"`
}

// Attempts returns every stored attempt of a work order, all executions and
// shadow runs included, in execution, shadow, cycle order. An unknown work
// order is ErrNotFound; one that never ran has none.
func (s *Service) Attempts(ctx context.Context, id uuid.UUID) ([]Attempt, error) {
	what := "attempts of work order " + id.String()
	// No rows means no such work order (NotFound), not "no attempts yet".
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM work_orders WHERE id = $1`, id).Scan(&one); err != nil {
		return nil, translate(err, "work order "+id.String())
	}
	rows, err := s.pool.Query(ctx, `SELECT id, execution, cycle, shadow, coalesce(variant_id::text, ''), model, prompt_hash, raw_proposal,
			edit_findings, changed_files, validations, build_passed, tests_passed, input_tokens, output_tokens, cost_usd,
			finish_reason, duration_ms, score, error, created_at
		FROM attempts WHERE work_order_id = $1 ORDER BY execution, shadow, cycle`, id)
	if err != nil {
		return nil, translate(err, what)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var findings, changed, reports, sc []byte
		if err := rows.Scan(&a.ID, &a.Execution, &a.Cycle, &a.Shadow, &a.VariantID, &a.Model, &a.PromptHash, &a.RawProposal,
			&findings, &changed, &reports, &a.BuildPassed, &a.TestsPassed, &a.InputTokens, &a.OutputTokens, &a.CostUSD,
			&a.FinishReason, &a.DurationMS, &sc, &a.Error, &a.CreatedAt); err != nil {
			return nil, translate(err, what)
		}
		if err := decodeAttempt(&a, findings, changed, reports, sc); err != nil {
			return nil, fmt.Errorf("%s: attempt %s: %w", what, a.ID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, what)
	}
	return out, nil
}

func decodeAttempt(a *Attempt, findings, changed, reports, sc []byte) error {
	if err := json.Unmarshal(findings, &a.EditFindings); err != nil {
		return fmt.Errorf("decode edit findings: %w", err)
	}
	if err := json.Unmarshal(changed, &a.ChangedFiles); err != nil {
		return fmt.Errorf("decode changed files: %w", err)
	}
	if err := json.Unmarshal(reports, &a.Validations); err != nil {
		return fmt.Errorf("decode validations: %w", err)
	}
	// A JSON null is what an unscored cycle may hold as well as SQL NULL.
	if len(sc) > 0 && string(sc) != "null" {
		a.Score = &AttemptScore{}
		if err := json.Unmarshal(sc, a.Score); err != nil {
			return fmt.Errorf("decode score: %w", err)
		}
	}
	return nil
}
