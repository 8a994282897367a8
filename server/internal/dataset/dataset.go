package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/server/internal/fault"
)

// Kind names the shape of the exported records.
type Kind string

const (
	// KindSFT: chat conversations for supervised fine-tuning.
	KindSFT Kind = "sft"
	// KindDPO: preference pairs (passing fix chosen, failed cycle rejected).
	KindDPO Kind = "dpo"
)

// Split names the part of the data set a record belongs to.
type Split string

const (
	SplitTrain      Split = "train"
	SplitValidation Split = "validation"
)

// Defaults the API edges apply when a request leaves a filter unset.
const (
	DefaultMinScore           = 7.0
	DefaultValidationFraction = 0.1
	// DefaultLimit and MaxLimit bound the work orders of one export: the
	// records travel in one response, and a proposal can be hundreds of
	// kilobytes.
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// SystemMessage is the system turn of every record. It states the task the
// way a proposer's default system prompt does, so the fine-tuned model learns
// the behaviour under the instruction it will be served with.
const SystemMessage = `You are a senior software engineer making one change to an existing repository.
You receive a work order and answer with the complete change that implements it.
Implement it completely, with no TODOs, stubs or elided code; add or update tests that prove every acceptance criterion; keep existing behaviour and conventions; use only dependencies the project already has.`

// Filter selects what Export returns. Zero ids mean "any"; MinScore and
// ValidationFraction are taken literally (the edges fill in the defaults).
type Filter struct {
	Kind      Kind
	ProjectID uuid.UUID
	VariantID uuid.UUID
	// MinScore is the lowest overall score (0 to 10) of the accepted attempt.
	MinScore float64
	// ValidationFraction is the share of work orders (0 to below 1) in the
	// validation split.
	ValidationFraction float64
	// Limit caps the work orders (not records), oldest first; 0: DefaultLimit.
	Limit int
}

// Validate reports every invalid field at once.
func (f Filter) Validate() error {
	v := &fault.ValidationError{}
	if f.Kind != KindSFT && f.Kind != KindDPO {
		v.Add("kind", "must be %q or %q, got %q", KindSFT, KindDPO, f.Kind)
	}
	if math.IsNaN(f.MinScore) || f.MinScore < 0 || f.MinScore > 10 {
		v.Add("min_score", "must be between 0 and 10, got %v", f.MinScore)
	}
	if math.IsNaN(f.ValidationFraction) || f.ValidationFraction < 0 || f.ValidationFraction >= 1 {
		v.Add("validation_fraction", "must be at least 0 and below 1, got %v", f.ValidationFraction)
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		v.Add("limit", "must be between 0 and %d, got %d", MaxLimit, f.Limit)
	}
	return v.Err()
}

// Record is one training example.
type Record struct {
	Split       Split
	WorkOrderID uuid.UUID
	// JSON is the record as one line of JSON, without a trailing newline.
	JSON []byte
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Metadata identifies where a record came from, so a trainer can filter or
// weight it and a bad example can be traced back to its attempt.
type Metadata struct {
	WorkOrderID string  `json:"work_order_id"`
	ProjectID   string  `json:"project_id"`
	VariantID   string  `json:"variant_id"`
	Model       string  `json:"model"`
	Score       float64 `json:"score"`
	Execution   int     `json:"execution"`
	Cycle       int     `json:"cycle"`
	// RejectedCycle and RejectedScore describe a DPO pair's rejected cycle;
	// RejectedScore is absent when that cycle was never scored.
	RejectedCycle int      `json:"rejected_cycle,omitempty"`
	RejectedScore *float64 `json:"rejected_score,omitempty"`
}

// SFTRecord is the shape of one SFT line.
type SFTRecord struct {
	Messages []Message `json:"messages"`
	Metadata Metadata  `json:"metadata"`
}

// DPORecord is the shape of one DPO line.
type DPORecord struct {
	Prompt   []Message `json:"prompt"`
	Chosen   []Message `json:"chosen"`
	Rejected []Message `json:"rejected"`
	Metadata Metadata  `json:"metadata"`
}

// Service reads attempts and work orders and renders them as records.
type Service struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// NewService returns a Service over pool.
func NewService(pool *pgxpool.Pool, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: pool, log: log}
}

// accepted is a completed work order with its final, passing attempt.
type accepted struct {
	woID, projectID    uuid.UUID
	title, description string
	criteria           []string
	execution, cycle   int
	variantID, model   string
	proposal           string
	score              float64
}

// acceptedQuery finds each work order's final non-shadow attempt (last cycle
// of the last execution) and keeps those that are accepted. DISTINCT ON picks
// the final attempt before the score filter, so a work order whose final
// attempt failed is excluded rather than represented by an earlier cycle.
const acceptedQuery = `
WITH final AS (
	SELECT DISTINCT ON (a.work_order_id)
		a.work_order_id, a.execution, a.cycle, a.variant_id, a.model, a.raw_proposal, a.score
	FROM attempts a
	JOIN work_orders w ON w.id = a.work_order_id
	WHERE NOT a.shadow AND w.status = 'completed'
		AND ($1::uuid IS NULL OR w.project_id = $1)
	ORDER BY a.work_order_id, a.execution DESC, a.cycle DESC
)
SELECT w.id, w.project_id, w.title, w.description, w.acceptance_criteria,
	f.execution, f.cycle, coalesce(f.variant_id::text, ''), f.model, f.raw_proposal,
	(f.score->>'overall')::float8
FROM final f
JOIN work_orders w ON w.id = f.work_order_id
WHERE jsonb_typeof(f.score) = 'object'
	AND f.score->>'passed' = 'true'
	AND (f.score->>'overall')::float8 >= $2
	AND f.raw_proposal <> ''
	AND ($3::uuid IS NULL OR f.variant_id = $3)
ORDER BY w.created_at, w.id
LIMIT $4`

// rejectedQuery finds the failed earlier cycles of the accepted executions.
const rejectedQuery = `
SELECT a.work_order_id, a.cycle, a.raw_proposal,
	CASE WHEN jsonb_typeof(a.score) = 'object' THEN (a.score->>'overall')::float8 END
FROM attempts a
JOIN unnest($1::uuid[], $2::int[], $3::int[]) AS f(wo, execution, cycle)
	ON a.work_order_id = f.wo AND a.execution = f.execution AND a.cycle < f.cycle
WHERE NOT a.shadow
	AND a.raw_proposal <> ''
	AND NOT coalesce(jsonb_typeof(a.score) = 'object' AND a.score->>'passed' = 'true', false)
ORDER BY a.work_order_id, a.cycle`

// Export returns the records that f selects, ordered by work order creation
// time and, within a work order, by rejected cycle.
func (s *Service) Export(ctx context.Context, f Filter) ([]Record, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	wos, err := s.accepted(ctx, f)
	if err != nil {
		return nil, err
	}
	var out []Record
	switch f.Kind {
	case KindSFT:
		out, err = sftRecords(wos, f.ValidationFraction)
	case KindDPO:
		out, err = s.dpoRecords(ctx, wos, f.ValidationFraction)
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "dataset exported", "kind", f.Kind, "work_orders", len(wos), "records", len(out))
	return out, nil
}

func (s *Service) accepted(ctx context.Context, f Filter) ([]accepted, error) {
	rows, err := s.pool.Query(ctx, acceptedQuery, nullUUID(f.ProjectID), f.MinScore, nullUUID(f.VariantID), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("query accepted attempts: %w", err)
	}
	defer rows.Close()
	var out []accepted
	for rows.Next() {
		var a accepted
		var criteria []byte
		if err := rows.Scan(&a.woID, &a.projectID, &a.title, &a.description, &criteria,
			&a.execution, &a.cycle, &a.variantID, &a.model, &a.proposal, &a.score); err != nil {
			return nil, fmt.Errorf("scan accepted attempt: %w", err)
		}
		if err := json.Unmarshal(criteria, &a.criteria); err != nil {
			return nil, fmt.Errorf("acceptance criteria of work order %s: %w", a.woID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query accepted attempts: %w", err)
	}
	return out, nil
}

func sftRecords(wos []accepted, fraction float64) ([]Record, error) {
	out := make([]Record, 0, len(wos))
	for _, a := range wos {
		line, err := json.Marshal(SFTRecord{
			Messages: append(prompt(a), Message{Role: "assistant", Content: a.proposal}),
			Metadata: metadata(a),
		})
		if err != nil {
			return nil, fmt.Errorf("encode sft record of work order %s: %w", a.woID, err)
		}
		out = append(out, Record{Split: SplitFor(a.woID, fraction), WorkOrderID: a.woID, JSON: line})
	}
	return out, nil
}

func (s *Service) dpoRecords(ctx context.Context, wos []accepted, fraction float64) ([]Record, error) {
	if len(wos) == 0 {
		return nil, nil
	}
	ids := make([]uuid.UUID, len(wos))
	execs := make([]int32, len(wos))
	cycles := make([]int32, len(wos))
	byID := make(map[uuid.UUID]int, len(wos))
	for i, a := range wos {
		ids[i], execs[i], cycles[i] = a.woID, int32(a.execution), int32(a.cycle)
		byID[a.woID] = i
	}
	rows, err := s.pool.Query(ctx, rejectedQuery, ids, execs, cycles)
	if err != nil {
		return nil, fmt.Errorf("query failed cycles: %w", err)
	}
	defer rows.Close()
	// Pairs are gathered per work order, then emitted in the accepted order
	// so the output is ordered by work order creation like SFT's.
	pairs := make([][]Record, len(wos))
	for rows.Next() {
		var (
			woID     uuid.UUID
			cycle    int
			proposal string
			score    *float64
		)
		if err := rows.Scan(&woID, &cycle, &proposal, &score); err != nil {
			return nil, fmt.Errorf("scan failed cycle: %w", err)
		}
		i := byID[woID]
		a := wos[i]
		if strings.TrimSpace(proposal) == strings.TrimSpace(a.proposal) {
			continue
		}
		md := metadata(a)
		md.RejectedCycle, md.RejectedScore = cycle, score
		line, err := json.Marshal(DPORecord{
			Prompt:   prompt(a),
			Chosen:   []Message{{Role: "assistant", Content: a.proposal}},
			Rejected: []Message{{Role: "assistant", Content: proposal}},
			Metadata: md,
		})
		if err != nil {
			return nil, fmt.Errorf("encode dpo record of work order %s: %w", woID, err)
		}
		pairs[i] = append(pairs[i], Record{Split: SplitFor(woID, fraction), WorkOrderID: woID, JSON: line})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query failed cycles: %w", err)
	}
	var out []Record
	for _, p := range pairs {
		out = append(out, p...)
	}
	return out, nil
}

func prompt(a accepted) []Message {
	return []Message{
		{Role: "system", Content: SystemMessage},
		{Role: "user", Content: UserMessage(a.title, a.description, a.criteria)},
	}
}

func metadata(a accepted) Metadata {
	return Metadata{
		WorkOrderID: a.woID.String(),
		ProjectID:   a.projectID.String(),
		VariantID:   a.variantID,
		Model:       a.model,
		Score:       a.score,
		Execution:   a.execution,
		Cycle:       a.cycle,
	}
}

// UserMessage renders a work order as the user turn, in the same Markdown
// layout as the proposers' default user prompt.
func UserMessage(title, description string, criteria []string) string {
	var b strings.Builder
	b.WriteString("# Work order: ")
	b.WriteString(title)
	b.WriteString("\n")
	if d := strings.TrimSpace(description); d != "" {
		b.WriteString("\n")
		b.WriteString(d)
		b.WriteString("\n")
	}
	if len(criteria) > 0 {
		b.WriteString("\n## Acceptance criteria\n\n")
		for _, c := range criteria {
			b.WriteString("- ")
			b.WriteString(c)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// SplitFor assigns a work order to a split from its id alone (see the
// package comment), so the assignment never changes between exports.
func SplitFor(id uuid.UUID, validationFraction float64) Split {
	sum := sha256.Sum256(id[:])
	// Divide by 2^64 so the fraction lies in [0, 1).
	u := float64(binary.BigEndian.Uint64(sum[:8])) / (1 << 64)
	if u < validationFraction {
		return SplitValidation
	}
	return SplitTrain
}

// nullUUID passes the zero id to SQL as NULL ("any").
func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
