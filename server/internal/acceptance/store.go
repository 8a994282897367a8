package acceptance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store keeps baselines in table test_baselines, one per (project, base
// commit, command set): a second work order on the same base reuses it, and
// so does the next moosed.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns the baselines' owner.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Commands is the key of a command set: the commands and limits that decide
// what a test run does.
func Commands(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Get returns the stored baseline, or nil when there is none.
func (s *Store) Get(ctx context.Context, project uuid.UUID, base, commands string) (*Baseline, error) {
	return decode(s.pool.QueryRow(ctx, `SELECT result FROM test_baselines WHERE project_id = $1 AND base_commit = $2 AND commands = $3`,
		project, base, commands))
}

// Latest returns the project's most recently measured baseline under the
// command set, whatever its base commit, or nil when there is none.
func (s *Store) Latest(ctx context.Context, project uuid.UUID, commands string) (*Baseline, error) {
	return decode(s.pool.QueryRow(ctx, `SELECT result FROM test_baselines WHERE project_id = $1 AND commands = $2
		ORDER BY created_at DESC LIMIT 1`, project, commands))
}

func decode(row pgx.Row) (*Baseline, error) {
	var raw []byte
	err := row.Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode baseline: %w", err)
	}
	return &b, nil
}

// Put stores a baseline; the first one stored for a key wins, so two nodes
// measuring the same base at once agree on one.
func (s *Store) Put(ctx context.Context, project uuid.UUID, commands string, b Baseline) (*Baseline, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO test_baselines (project_id, base_commit, commands, result) VALUES ($1,$2,$3,$4)
		ON CONFLICT DO NOTHING`, project, b.BaseCommit, commands, raw); err != nil {
		return nil, fmt.Errorf("store baseline: %w", err)
	}
	got, err := s.Get(ctx, project, b.BaseCommit, commands)
	if err != nil || got == nil {
		return &b, err
	}
	return got, nil
}
