package workorder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/server/internal/fault"
)

// NotifyChannel is the PostgreSQL channel carrying "a work order has new
// events" notifications; the payload is the work order id.
const NotifyChannel = "moose_wo_events"

// Scheduler enqueues a work order's execution inside the transaction that
// approves it, so an approved work order is never left without a job, and
// cancels that job inside the transaction that cancels the work order.
type Scheduler interface {
	ScheduleTx(ctx context.Context, tx pgx.Tx, wo *WorkOrder) error
	CancelTx(ctx context.Context, tx pgx.Tx, wo *WorkOrder) error
}

// Warmer is a Scheduler that also warms new projects up: WarmTx enqueues the
// warm-up inside the transaction that registers the project, when Warms.
type Warmer interface {
	Warms() bool
	WarmTx(ctx context.Context, tx pgx.Tx, p *Project) error
}

// Service reads and changes projects and work orders.
type Service struct {
	pool      *pgxpool.Pool
	log       *slog.Logger
	scheduler Scheduler
	repoCheck func(string) error
}

// NewService returns a Service over pool. scheduler may be nil (nothing runs
// approved work orders then).
func NewService(pool *pgxpool.Pool, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{pool: pool, log: log}
}

// SetRepoCheck installs the policy a new project's repo_url must pass; it
// returns a ValidationError naming repo_url when the URL is not allowed.
func (s *Service) SetRepoCheck(check func(repoURL string) error) { s.repoCheck = check }

// SetScheduler installs the executor's enqueue hook.
func (s *Service) SetScheduler(sch Scheduler) { s.scheduler = sch }

// Pool exposes the database pool to packages that share this transaction
// boundary (the pipeline writes results through the same tables).
func (s *Service) Pool() *pgxpool.Pool { return s.pool }

// translate maps driver errors to the fault vocabulary at the driver edge.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, fault.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%s: %w", what, fault.ErrConflict)
		case "23503":
			return fmt.Errorf("%s: %w", what, fault.ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ---- projects ----

const projectCols = `id, name, repo_url, default_branch, language, preset, build_command, test_command, typecheck_command, build_timeout_ms, test_timeout_ms, min_mutation_score, warm_state, warm_message, warmed_at, created_at, updated_at`

func scanProject(row pgx.Row) (*Project, error) {
	p := &Project{}
	var buildMS, testMS int64
	err := row.Scan(&p.ID, &p.Name, &p.RepoURL, &p.DefaultBranch, &p.Language, &p.Preset,
		&p.BuildCommand, &p.TestCommand, &p.TypecheckCommand, &buildMS, &testMS, &p.MinMutationScore,
		&p.Warm.State, &p.Warm.Message, &p.Warm.At, &p.CreatedAt, &p.UpdatedAt)
	p.BuildTimeout, p.TestTimeout = time.Duration(buildMS)*time.Millisecond, time.Duration(testMS)*time.Millisecond
	return p, err
}

// CreateProject validates and stores a new project. A duplicate name is ErrConflict.
func (s *Service) CreateProject(ctx context.Context, p Project) (*Project, error) {
	err := p.Validate()
	if s.repoCheck != nil && p.RepoURL != "" {
		err = fault.Join(err, s.repoCheck(p.RepoURL))
	}
	if err != nil {
		return nil, err
	}
	if p.Preset == "" {
		p.Preset = PresetFor(strings.ToLower(p.Language))
	}
	p.ID = uuid.New()
	warmer, _ := s.scheduler.(Warmer)
	if warmer != nil && !warmer.Warms() {
		warmer = nil
	}
	p.Warm = Warm{}
	if warmer != nil {
		p.Warm.State = WarmPending
	}
	var out *Project
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `INSERT INTO projects (id, name, repo_url, default_branch, language, preset, build_command, test_command, typecheck_command, build_timeout_ms, test_timeout_ms, min_mutation_score, warm_state)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING `+projectCols,
			p.ID, p.Name, p.RepoURL, p.DefaultBranch, p.Language, p.Preset, p.BuildCommand, p.TestCommand, p.TypecheckCommand,
			p.BuildTimeout.Milliseconds(), p.TestTimeout.Milliseconds(), p.MinMutationScore, p.Warm.State)
		var err error
		if out, err = scanProject(row); err != nil {
			return err
		}
		if warmer != nil {
			return warmer.WarmTx(ctx, tx, out)
		}
		return nil
	})
	if err != nil {
		err = translate(err, "create project "+p.Name)
		if errors.Is(err, fault.ErrConflict) {
			return nil, fmt.Errorf("project named %q already exists: %w", p.Name, fault.ErrConflict)
		}
		return nil, err
	}
	return out, nil
}

// SetWarm records how project id's warm-up stands; a state that ends it
// (ready, failed) stamps its time.
func (s *Service) SetWarm(ctx context.Context, id uuid.UUID, state WarmState, msg string) error {
	_, err := s.pool.Exec(ctx, `UPDATE projects SET warm_state = $2, warm_message = $3,
		warmed_at = CASE WHEN $2 IN ('ready', 'failed') THEN now() ELSE NULL END WHERE id = $1`, id, string(state), msg)
	return translate(err, "set project warm-up")
}

// GetProject returns a project by id.
func (s *Service) GetProject(ctx context.Context, id uuid.UUID) (*Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return nil, translate(err, "project "+id.String())
	}
	return p, nil
}

// ListProjects pages through projects in creation order.
func (s *Service) ListProjects(ctx context.Context, pageSize int, pageToken string) ([]*Project, string, error) {
	pageSize = clampPageSize(pageSize)
	after, err := decodeToken(pageToken)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+projectCols+` FROM projects
		WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3`, after.t, after.id, pageSize+1)
	if err != nil {
		return nil, "", translate(err, "list projects")
	}
	defer rows.Close()
	var out []*Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, "", translate(err, "list projects")
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(err, "list projects")
	}
	next := ""
	if len(out) > pageSize {
		out = out[:pageSize]
		last := out[len(out)-1]
		next = encodeToken(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// ---- work orders ----

const woCols = `id, project_id, coalesce(request_id, ''), title, description, acceptance_criteria, complexity, status, metadata, coalesce(variant_id, ''), tests_optional, build_timeout_ms, test_timeout_ms, acceptance, result, created_at, updated_at`

func scanWorkOrder(row pgx.Row) (*WorkOrder, error) {
	w := &WorkOrder{}
	var criteria, meta, result, accept []byte
	var status string
	var buildMS, testMS int64
	err := row.Scan(&w.ID, &w.ProjectID, &w.RequestID, &w.Title, &w.Description, &criteria, &w.Complexity,
		&status, &meta, &w.VariantID, &w.TestsOptional, &buildMS, &testMS, &accept, &result, &w.CreatedAt, &w.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(accept, &w.Acceptance); err != nil {
		return nil, fmt.Errorf("decode acceptance tests: %w", err)
	}
	w.BuildTimeout, w.TestTimeout = time.Duration(buildMS)*time.Millisecond, time.Duration(testMS)*time.Millisecond
	w.Status = Status(status)
	if err := json.Unmarshal(criteria, &w.AcceptanceCriteria); err != nil {
		return nil, fmt.Errorf("decode acceptance criteria: %w", err)
	}
	if err := json.Unmarshal(meta, &w.Metadata); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	if len(result) > 0 {
		w.Result = &Result{}
		if err := json.Unmarshal(result, w.Result); err != nil {
			return nil, fmt.Errorf("decode result: %w", err)
		}
	}
	return w, nil
}

// Create validates and stores a pending work order with its "created" event.
// A repeated RequestID returns the work order first created with it.
func (s *Service) Create(ctx context.Context, n NewWorkOrder) (*WorkOrder, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	projectID := uuid.MustParse(n.ProjectID) // validated above
	if n.AcceptanceCriteria == nil {
		n.AcceptanceCriteria = []string{}
	}
	if n.Metadata == nil {
		n.Metadata = map[string]string{}
	}
	criteria, _ := json.Marshal(n.AcceptanceCriteria)
	meta, _ := json.Marshal(n.Metadata)
	accept, _ := json.Marshal(n.Acceptance)
	var reqID *string
	if n.RequestID != "" {
		reqID = &n.RequestID
	}
	// One statement, one round trip: the work order and its "created" event
	// commit together. No NOTIFY is needed: nobody can watch a work order
	// before it exists, and a watcher reads history first. Only the
	// timestamps come back; the rest is what was sent.
	id := uuid.New()
	row := s.pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO work_orders (id, project_id, request_id, title, description, acceptance_criteria, complexity, status, metadata, pinned_variant_id, variant_id, tests_optional, build_timeout_ms, test_timeout_ms, acceptance)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$11::uuid,($11::uuid)::text,$12,$13,$14,$15)
			ON CONFLICT (request_id) WHERE request_id IS NOT NULL DO NOTHING
			RETURNING id, status, created_at, updated_at),
		ev AS (INSERT INTO work_order_events (work_order_id, type, to_status, message)
			SELECT id, $10, status, 'work order created' FROM ins)
		SELECT created_at, updated_at FROM ins`,
		id, projectID, reqID, n.Title, n.Description, criteria, n.Complexity, StatusPending, meta, EventCreated, pinned(n.PinnedVariant), n.TestsOptional,
		n.BuildTimeout.Milliseconds(), n.TestTimeout.Milliseconds(), accept)
	w := &WorkOrder{ID: id, ProjectID: projectID, RequestID: n.RequestID, Title: n.Title, Description: n.Description,
		AcceptanceCriteria: n.AcceptanceCriteria, Complexity: n.Complexity, Status: StatusPending, Metadata: n.Metadata,
		TestsOptional: n.TestsOptional, BuildTimeout: n.BuildTimeout, TestTimeout: n.TestTimeout, Acceptance: n.Acceptance}
	if n.PinnedVariant != uuid.Nil {
		w.VariantID = n.PinnedVariant.String()
	}
	err := row.Scan(&w.CreatedAt, &w.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) && reqID != nil {
		// Same request id as an earlier create: hand back the original.
		orig, err := scanWorkOrder(s.pool.QueryRow(ctx, `SELECT `+woCols+` FROM work_orders WHERE request_id = $1`, n.RequestID))
		if err != nil {
			return nil, translate(err, "find work order by request id")
		}
		return orig, nil
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23503" {
			return nil, fmt.Errorf("project %s: %w", projectID, fault.ErrNotFound)
		}
		return nil, translate(err, "create work order")
	}
	return w, nil
}

func (s *Service) getProjectTx(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*Project, error) {
	p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectCols+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return nil, translate(err, "project "+id.String())
	}
	return p, nil
}

// Get returns a work order by id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*WorkOrder, error) {
	w, err := scanWorkOrder(s.pool.QueryRow(ctx, `SELECT `+woCols+` FROM work_orders WHERE id = $1`, id))
	if err != nil {
		return nil, translate(err, "work order "+id.String())
	}
	return w, nil
}

// Filter narrows List.
type Filter struct {
	ProjectID uuid.UUID // zero: any
	Status    Status    // empty: any
	PageSize  int
	PageToken string
}

// List pages through work orders in creation order; page tokens are opaque
// and stable under concurrent inserts.
func (s *Service) List(ctx context.Context, f Filter) ([]*WorkOrder, string, error) {
	pageSize := clampPageSize(f.PageSize)
	after, err := decodeToken(f.PageToken)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + woCols + ` FROM work_orders WHERE (created_at, id) > ($1, $2)`
	args := []any{after.t, after.id}
	if f.ProjectID != uuid.Nil {
		args = append(args, f.ProjectID)
		q += ` AND project_id = $` + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		q += ` AND status = $` + strconv.Itoa(len(args))
	}
	args = append(args, pageSize+1)
	q += ` ORDER BY created_at, id LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, "", translate(err, "list work orders")
	}
	defer rows.Close()
	var out []*WorkOrder
	for rows.Next() {
		w, err := scanWorkOrder(rows)
		if err != nil {
			return nil, "", translate(err, "list work orders")
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(err, "list work orders")
	}
	next := ""
	if len(out) > pageSize {
		out = out[:pageSize]
		last := out[len(out)-1]
		next = encodeToken(last.CreatedAt, last.ID)
	}
	return out, next, nil
}

// Transition applies a lifecycle operation under a row lock, records the
// transition event and, for approvals, schedules execution in the same
// transaction. Illegal transitions return a *fault.PreconditionError.
func (s *Service) Transition(ctx context.Context, id uuid.UUID, op Op, message string) (*WorkOrder, error) {
	var out *WorkOrder
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		w, err := s.TransitionTx(ctx, tx, id, op, message, nil)
		out = w
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TransitionTx is Transition inside the caller's transaction; data is attached
// to the event.
func (s *Service) TransitionTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, op Op, message string, data map[string]string) (*WorkOrder, error) {
	w, err := scanWorkOrder(tx.QueryRow(ctx, `SELECT `+woCols+` FROM work_orders WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return nil, translate(err, string(op)+" work order "+id.String())
	}
	next, err := Next(w.Status, op)
	if err != nil {
		return nil, fmt.Errorf("%s work order %s: %w", op, id, err)
	}
	if err := tx.QueryRow(ctx, `UPDATE work_orders SET status = $2, updated_at = now() WHERE id = $1 RETURNING updated_at`, id, next).Scan(&w.UpdatedAt); err != nil {
		return nil, translate(err, "update work order status")
	}
	if message == "" {
		message = fmt.Sprintf("%s → %s", w.Status, next)
	}
	ev := Event{WorkOrderID: id, Type: EventTransition, FromStatus: w.Status, ToStatus: next, Message: message, Data: data}
	w.Status = next
	if err := s.appendEventTx(ctx, tx, ev); err != nil {
		return nil, err
	}
	if s.scheduler != nil {
		switch next {
		case StatusApproved:
			if err := s.scheduler.ScheduleTx(ctx, tx, w); err != nil {
				return nil, fmt.Errorf("schedule work order %s: %w", id, err)
			}
		case StatusCancelled:
			if err := s.scheduler.CancelTx(ctx, tx, w); err != nil {
				return nil, fmt.Errorf("cancel work order %s: %w", id, err)
			}
		}
	}
	return w, nil
}

// SetResultTx stores the outcome of the current execution.
func (s *Service) SetResultTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, r Result) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE work_orders SET result = $2, updated_at = now() WHERE id = $1`, id, raw); err != nil {
		return translate(err, "store result")
	}
	return nil
}

// SetVariant records the routing decision; it is kept for the rest of the
// execution, so a retried job reuses it.
func (s *Service) SetVariant(ctx context.Context, id uuid.UUID, variantID string, ev Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE work_orders SET variant_id = $2, updated_at = now() WHERE id = $1`, id, variantID); err != nil {
			return translate(err, "record variant")
		}
		return s.appendEventTx(ctx, tx, ev)
	})
}

// Execution returns the number of the work order's current execution.
func (s *Service) Execution(ctx context.Context, id uuid.UUID) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT executions FROM work_orders WHERE id = $1`, id).Scan(&n); err != nil {
		return 0, translate(err, "work order "+id.String())
	}
	return n, nil
}

// AppendEvent records an event (a pipeline phase, a note) outside any transition.
func (s *Service) AppendEvent(ctx context.Context, ev Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.appendEventTx(ctx, tx, ev) })
}

// AppendEventTx records an event inside the caller's transaction.
func (s *Service) AppendEventTx(ctx context.Context, tx pgx.Tx, ev Event) error {
	return s.appendEventTx(ctx, tx, ev)
}

func (s *Service) appendEventTx(ctx context.Context, tx pgx.Tx, ev Event) error {
	if ev.Data == nil {
		ev.Data = map[string]string{}
	}
	data, _ := json.Marshal(ev.Data)
	_, err := tx.Exec(ctx, `INSERT INTO work_order_events (work_order_id, type, from_status, to_status, phase, message, data)
		VALUES ($1,$2,$3,$4,$5,$6,$7)`, ev.WorkOrderID, ev.Type, string(ev.FromStatus), string(ev.ToStatus), ev.Phase, ev.Message, data)
	if err != nil {
		return translate(err, "append event")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, ev.WorkOrderID.String()); err != nil {
		return translate(err, "notify event")
	}
	return nil
}

// Events returns a work order's events with id > afterID, oldest first.
func (s *Service) Events(ctx context.Context, id uuid.UUID, afterID int64) ([]Event, error) {
	return s.EventsPage(ctx, id, afterID, 0)
}

// EventsPage returns at most limit (0: all) of the work order's events after
// afterID, oldest first.
func (s *Service) EventsPage(ctx context.Context, id uuid.UUID, afterID int64, limit int) ([]Event, error) {
	lim := any(nil)
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `SELECT id, work_order_id, type, from_status, to_status, phase, message, data, created_at
		FROM work_order_events WHERE work_order_id = $1 AND id > $2 ORDER BY id LIMIT $3`, id, afterID, lim)
	if err != nil {
		return nil, translate(err, "list events")
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var from, to string
		var data []byte
		if err := rows.Scan(&ev.ID, &ev.WorkOrderID, &ev.Type, &from, &to, &ev.Phase, &ev.Message, &data, &ev.CreatedAt); err != nil {
			return nil, translate(err, "list events")
		}
		ev.FromStatus, ev.ToStatus = Status(from), Status(to)
		if err := json.Unmarshal(data, &ev.Data); err != nil {
			return nil, fmt.Errorf("decode event data: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "list events")
	}
	return out, nil
}

func pinned(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// ---- paging ----

func clampPageSize(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 500:
		return 500
	}
	return n
}

type cursor struct {
	t  time.Time
	id uuid.UUID
}

func encodeToken(t time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "." + id.String()))
}

func decodeToken(tok string) (cursor, error) {
	if tok == "" {
		return cursor{t: time.Unix(0, 0).UTC()}, nil
	}
	bad := fault.Invalid("page_token", "is not a token returned by this API")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return cursor{}, bad
	}
	ts, idStr, ok := strings.Cut(string(raw), ".")
	if !ok {
		return cursor{}, bad
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return cursor{}, bad
	}
	id, err := uuid.Parse(idStr)
	if err != nil {
		return cursor{}, bad
	}
	return cursor{t: time.UnixMicro(us).UTC(), id: id}, nil
}

// Running is a work order in progress as the reconciler sees it.
type Running struct {
	ID        uuid.UUID
	Execution int
	JobID     *int64
}

// QuietInProgressTx locks and returns the work orders in progress whose row
// has not changed for quiet (an execution that is alive records its cycles
// and events; the reconciler then checks that its job is alive too). Rows
// locked elsewhere are skipped.
func (s *Service) QuietInProgressTx(ctx context.Context, tx pgx.Tx, quiet time.Duration) ([]Running, error) {
	rows, err := tx.Query(ctx, `SELECT id, executions, job_id FROM work_orders
		WHERE status = 'in_progress' AND updated_at < now() - $1::interval
		ORDER BY updated_at LIMIT 100 FOR UPDATE SKIP LOCKED`, quiet.String())
	if err != nil {
		return nil, translate(err, "find work orders in progress")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Running, error) {
		var w Running
		err := r.Scan(&w.ID, &w.Execution, &w.JobID)
		return w, err
	})
}

// SetJobTx records the job that now runs work order id's execution.
func (s *Service) SetJobTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, jobID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE work_orders SET job_id = $2, updated_at = now() WHERE id = $1`, id, jobID); err != nil {
		return translate(err, "record job")
	}
	return nil
}

// CountByStatus counts the work orders of every status present.
func (s *Service) CountByStatus(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM work_orders GROUP BY status`)
	if err != nil {
		return nil, translate(err, "count work orders")
	}
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return nil, translate(err, "count work orders")
		}
		out[st] = n
	}
	rows.Close()
	return out, translate(rows.Err(), "count work orders")
}

// StartExecutionTx counts a new execution of work order id (clearing the
// previous execution's result and routing) and returns its number.
func (s *Service) StartExecutionTx(ctx context.Context, tx pgx.Tx, id uuid.UUID) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `UPDATE work_orders SET executions = executions + 1, variant_id = pinned_variant_id::text, result = NULL
		WHERE id = $1 RETURNING executions`, id).Scan(&n)
	return n, translate(err, "count execution")
}

// JobTx returns the job of work order id's current execution, or nil.
func (s *Service) JobTx(ctx context.Context, tx pgx.Tx, id uuid.UUID) (*int64, error) {
	var job *int64
	err := tx.QueryRow(ctx, `SELECT job_id FROM work_orders WHERE id = $1`, id).Scan(&job)
	return job, translate(err, "find job")
}

// PublishedTx reports the repository of work order id's project and whether
// any of its executions recorded a publication (an event of phase with a
// "url" in its data).
func (s *Service) PublishedTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, phase string) (repoURL string, published bool, err error) {
	err = tx.QueryRow(ctx, `SELECT p.repo_url, EXISTS (SELECT 1 FROM work_order_events e
			WHERE e.work_order_id = w.id AND e.phase = $2 AND e.data ? 'url')
		FROM work_orders w JOIN projects p ON p.id = w.project_id WHERE w.id = $1`, id, phase).Scan(&repoURL, &published)
	return repoURL, published, translate(err, "find project of work order")
}
