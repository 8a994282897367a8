package workorder

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/moosehq/moose/server/internal/acceptance"
	"github.com/moosehq/moose/server/internal/fault"
)

// Attempt is one stored proposal cycle of a work order, decoded from the
// attempts table the pipeline writes.
type Attempt struct {
	ID          uuid.UUID
	Execution   int
	Cycle       int
	Shadow      bool
	VariantID   string // empty when the attempt had no variant
	Model       string
	PromptHash  string
	RawProposal string
	// RawProposalBytes is the stored proposal's size; RawProposalTruncated
	// says RawProposal holds only its head and tail.
	RawProposalBytes     int64
	RawProposalTruncated bool
	ChangedFiles         []string
	// EditFindings are the problems applying the proposal (Source "edit").
	EditFindings []AttemptFinding
	Validations  []ValidatorReport
	BuildPassed  bool
	TestsPassed  bool
	// InputTokens counts every prompt token; CacheReadInputTokens and
	// CacheWriteInputTokens are the parts of it the provider read from and
	// wrote to its prompt cache.
	InputTokens           int64
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
	OutputTokens          int64
	CostUSD               float64
	FinishReason          string
	DurationMS            int64
	// Score is nil when the cycle was never scored.
	Score     *AttemptScore
	Error     string
	CreatedAt time.Time
	// Acceptance is the cycle's acceptance verdict, nil when it had none.
	Acceptance *acceptance.Report
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
	// LogTruncated is set when a page that is not full shortened Log.
	LogTruncated bool `json:"-"`
}

// AttemptScore is a cycle's stored score.
type AttemptScore struct {
	Overall    float64     `json:"overall"`
	Passed     bool        `json:"passed"`
	Dimensions []Dimension `json:"dimensions"`
	Gate       string      `json:"gate,omitempty"`
}

// AttemptsPage selects one page of a work order's attempts.
type AttemptsPage struct {
	// Size is the most attempts returned (default 10, at most 100).
	Size int
	// Token is the previous page's next token; empty for the first page.
	Token string
	// Full returns raw proposals and validator logs whole; otherwise a
	// proposal over ProposalShown bytes keeps its head and tail and a log
	// its last LogShown bytes, each marked truncated.
	Full bool
	// MaxBytes ends a page early, before an attempt that would take its
	// proposals, logs and findings past this many bytes (default 4 MiB); a
	// page always holds at least one attempt.
	MaxBytes int
}

// What a page that is not Full shows of large fields.
const (
	ProposalShown = 64 << 10
	LogShown      = 8 << 10
)

// Attempts returns one page of a work order's stored attempts, all
// executions and shadow runs included, in execution, shadow, cycle order,
// and the token of the next page ("" after the last). An unknown work order
// is ErrNotFound; one that never ran has none.
func (s *Service) Attempts(ctx context.Context, id uuid.UUID, page AttemptsPage) ([]Attempt, string, error) {
	what := "attempts of work order " + id.String()
	size := page.Size
	switch {
	case size <= 0:
		size = 10
	case size > 100:
		size = 100
	}
	maxBytes := cmp.Or(page.MaxBytes, 4<<20)
	after, err := decodeAttemptToken(page.Token)
	if err != nil {
		return nil, "", err
	}
	// No rows means no such work order (NotFound), not "no attempts yet".
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM work_orders WHERE id = $1`, id).Scan(&one); err != nil {
		return nil, "", translate(err, "work order "+id.String())
	}
	// A page that is not full never reads a large proposal whole: the
	// database sends its head and tail (in characters, trimmed to bytes below).
	proposal := `raw_proposal, ''`
	if !page.Full {
		proposal = fmt.Sprintf(`CASE WHEN octet_length(raw_proposal) > %[1]d THEN left(raw_proposal, %[2]d) ELSE raw_proposal END,
			CASE WHEN octet_length(raw_proposal) > %[1]d THEN right(raw_proposal, %[2]d) ELSE '' END`, ProposalShown, ProposalShown/2)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, execution, cycle, shadow, coalesce(variant_id::text, ''), model, prompt_hash, `+proposal+`, octet_length(raw_proposal),
			edit_findings, changed_files, validations, build_passed, tests_passed, input_tokens, output_tokens, cost_usd,
			finish_reason, duration_ms, score, error, created_at, acceptance, cache_read_input_tokens, cache_write_input_tokens
		FROM attempts WHERE work_order_id = $1 AND (execution, shadow, cycle) > ($2, $3, $4)
		ORDER BY execution, shadow, cycle LIMIT $5`, id, after.execution, after.shadow, after.cycle, size+1)
	if err != nil {
		return nil, "", translate(err, what)
	}
	defer rows.Close()
	out := []Attempt{}
	bytes, more := 0, false
	for rows.Next() {
		if len(out) == size {
			more = true
			break
		}
		var a Attempt
		var findings, changed, reports, sc, accept []byte
		var proposalTail string
		if err := rows.Scan(&a.ID, &a.Execution, &a.Cycle, &a.Shadow, &a.VariantID, &a.Model, &a.PromptHash, &a.RawProposal, &proposalTail, &a.RawProposalBytes,
			&findings, &changed, &reports, &a.BuildPassed, &a.TestsPassed, &a.InputTokens, &a.OutputTokens, &a.CostUSD,
			&a.FinishReason, &a.DurationMS, &sc, &a.Error, &a.CreatedAt, &accept, &a.CacheReadInputTokens, &a.CacheWriteInputTokens); err != nil {
			return nil, "", translate(err, what)
		}
		if len(accept) > 0 && string(accept) != "null" {
			a.Acceptance = &acceptance.Report{}
			if err := json.Unmarshal(accept, a.Acceptance); err != nil {
				return nil, "", fmt.Errorf("%s: attempt %s: decode acceptance: %w", what, a.ID, err)
			}
		}
		if err := decodeAttempt(&a, findings, changed, reports, sc); err != nil {
			return nil, "", fmt.Errorf("%s: attempt %s: %w", what, a.ID, err)
		}
		if !page.Full {
			a.trim(proposalTail)
		}
		n := a.size()
		if len(out) > 0 && bytes+n > maxBytes {
			more = true
			break
		}
		bytes += n
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(err, what)
	}
	next := ""
	if more {
		last := out[len(out)-1]
		next = encodeAttemptToken(attemptCursor{last.Execution, last.Shadow, last.Cycle})
	}
	return out, next, nil
}

// trim shortens the proposal (the database sent its head in RawProposal and
// its tail) and the logs for a page that is not full.
func (a *Attempt) trim(tail string) {
	if a.RawProposalBytes > ProposalShown {
		head, tail := headBytes(a.RawProposal, ProposalShown/2), tailBytes(tail, ProposalShown/2)
		a.RawProposal = head + fmt.Sprintf("\n… [%d bytes not shown: ask for full attempts] …\n", int(a.RawProposalBytes)-len(head)-len(tail)) + tail
		a.RawProposalTruncated = true
	}
	for i := range a.Validations {
		r := &a.Validations[i]
		if len(r.Log) > LogShown {
			r.Log, r.LogTruncated = "…"+tailBytes(r.Log, LogShown), true
		}
	}
}

// size is about how many bytes the attempt adds to a response.
func (a *Attempt) size() int {
	n := 512 + len(a.RawProposal)
	for _, f := range a.Findings() {
		n += 64 + len(f.Message) + len(f.File)
	}
	for _, r := range a.Validations {
		n += 128 + len(r.Log)
	}
	if r := a.Acceptance; r != nil {
		if b, err := json.Marshal(r); err == nil {
			n += len(b)
		}
	}
	return n
}

// headBytes and tailBytes keep at most n bytes of s, cut at a rune boundary.
func headBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func tailBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}

type attemptCursor struct {
	execution int
	shadow    bool
	cycle     int
}

func encodeAttemptToken(c attemptCursor) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "a.%d.%t.%d", c.execution, c.shadow, c.cycle))
}

func decodeAttemptToken(tok string) (attemptCursor, error) {
	if tok == "" {
		return attemptCursor{execution: -1}, nil
	}
	bad := fault.Invalid("page_token", "is not a token returned by this API")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return attemptCursor{}, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 4 || parts[0] != "a" {
		return attemptCursor{}, bad
	}
	var c attemptCursor
	if c.execution, err = strconv.Atoi(parts[1]); err != nil {
		return attemptCursor{}, bad
	}
	if c.shadow, err = strconv.ParseBool(parts[2]); err != nil {
		return attemptCursor{}, bad
	}
	if c.cycle, err = strconv.Atoi(parts[3]); err != nil {
		return attemptCursor{}, bad
	}
	return c, nil
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

// CycleRecord is an attempt row as the pipeline writes it and reads it back
// to resume an execution. The structured parts stay encoded: they are the
// pipeline's own values, which Attempt decodes for readers.
type CycleRecord struct {
	WorkOrderID  uuid.UUID
	Execution    int
	Cycle        int
	Shadow       bool
	VariantID    uuid.UUID
	Model        string
	PromptHash   string
	RawProposal  string
	Edits        json.RawMessage
	EditFindings json.RawMessage
	ChangedFiles json.RawMessage
	TreeHash     string
	Validations  json.RawMessage
	BuildPassed  bool
	TestsPassed  bool
	InputTokens  int64
	OutputTokens int64
	// CacheReadInputTokens and CacheWriteInputTokens are parts of InputTokens.
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
	CostUSD               float64
	FinishReason          string
	DurationMS            int64
	Score                 json.RawMessage
	// Acceptance is the cycle's acceptance verdict (acceptance.Report), or nil.
	Acceptance json.RawMessage
}

// SaveCycleTx stores one cycle of an execution; a cycle stored before (an
// execution resumed after a crash) is kept as it was.
func (s *Service) SaveCycleTx(ctx context.Context, tx pgx.Tx, r CycleRecord) error {
	_, err := tx.Exec(ctx, `INSERT INTO attempts (id, work_order_id, execution, cycle, variant_id, model, prompt_hash, raw_proposal,
			edits, edit_findings, changed_files, tree_hash, validations, build_passed, tests_passed, input_tokens, output_tokens, cost_usd, finish_reason, duration_ms, score, shadow, acceptance,
			cache_read_input_tokens, cache_write_input_tokens)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
		ON CONFLICT (work_order_id, execution, shadow, cycle) DO NOTHING`,
		uuid.New(), r.WorkOrderID, r.Execution, r.Cycle, r.VariantID, r.Model, r.PromptHash, r.RawProposal, r.Edits, r.EditFindings,
		r.ChangedFiles, r.TreeHash, r.Validations, r.BuildPassed, r.TestsPassed, r.InputTokens, r.OutputTokens, r.CostUSD,
		r.FinishReason, r.DurationMS, r.Score, r.Shadow, r.Acceptance, r.CacheReadInputTokens, r.CacheWriteInputTokens)
	return translate(err, "store attempt")
}

// Cycles returns the stored cycles of one execution (or its shadow run), in
// order, with the fields a resumed execution needs.
func (s *Service) Cycles(ctx context.Context, id uuid.UUID, execution int, shadow bool) ([]CycleRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT cycle, model, raw_proposal, edit_findings, changed_files, tree_hash, validations,
			input_tokens, output_tokens, cost_usd, finish_reason, duration_ms, acceptance, cache_read_input_tokens, cache_write_input_tokens
		FROM attempts WHERE work_order_id = $1 AND execution = $2 AND shadow = $3 ORDER BY cycle`, id, execution, shadow)
	if err != nil {
		return nil, translate(err, "load attempts")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CycleRecord, error) {
		r := CycleRecord{WorkOrderID: id, Execution: execution, Shadow: shadow}
		err := row.Scan(&r.Cycle, &r.Model, &r.RawProposal, &r.EditFindings, &r.ChangedFiles, &r.TreeHash, &r.Validations,
			&r.InputTokens, &r.OutputTokens, &r.CostUSD, &r.FinishReason, &r.DurationMS, &r.Acceptance, &r.CacheReadInputTokens, &r.CacheWriteInputTokens)
		return r, err
	})
	return out, translate(err, "load attempts")
}

// Usage is the summed model cost and tokens of an execution's cycles.
type Usage struct {
	CostUSD               float64
	InputTokens           int64
	CacheReadInputTokens  int64
	CacheWriteInputTokens int64
	OutputTokens          int64
}

// ExecutionCost sums the model cost and tokens of every stored cycle of the
// work order's current execution (an interrupted attempt's cycles included).
func (s *Service) ExecutionCost(ctx context.Context, id uuid.UUID) (Usage, error) {
	var u Usage
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(cost_usd),0), coalesce(sum(input_tokens),0), coalesce(sum(cache_read_input_tokens),0),
			coalesce(sum(cache_write_input_tokens),0), coalesce(sum(output_tokens),0)
		FROM attempts WHERE work_order_id = $1 AND NOT shadow AND execution = (SELECT executions FROM work_orders WHERE id = $1)`, id).
		Scan(&u.CostUSD, &u.InputTokens, &u.CacheReadInputTokens, &u.CacheWriteInputTokens, &u.OutputTokens)
	return u, translate(err, "sum attempt costs")
}

// Accepted is a completed work order of a project with the proposal of its
// passing cycle.
type Accepted struct {
	Title, Description string
	Criteria           []string
	Complexity         int
	Proposal           string
}

// AcceptedInProject returns up to 500 completed work orders of project
// (other than except) with the proposal of their last passing cycle.
func (s *Service) AcceptedInProject(ctx context.Context, project, except uuid.UUID) ([]Accepted, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (w.id) w.title, w.description, w.acceptance_criteria, w.complexity, a.raw_proposal
		FROM attempts a JOIN work_orders w ON w.id = a.work_order_id
		WHERE w.project_id = $1 AND w.id <> $2 AND w.status = 'completed' AND NOT a.shadow
		  AND a.execution = w.executions AND (a.score->>'passed')::boolean
		ORDER BY w.id, a.cycle DESC
		LIMIT 500`, project, except)
	if err != nil {
		return nil, translate(err, "find accepted work orders")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Accepted, error) {
		var a Accepted
		var criteria []byte
		err := row.Scan(&a.Title, &a.Description, &criteria, &a.Complexity, &a.Proposal)
		_ = json.Unmarshal(criteria, &a.Criteria)
		return a, err
	})
	return out, translate(err, "find accepted work orders")
}
