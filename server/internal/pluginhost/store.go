package pluginhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/server/internal/fault"
)

// Store persists the catalog of registered (non built-in) plugins.
type Store interface {
	// SavePlugin inserts a registration; an existing (kind, name, version)
	// fails with fault.ErrConflict.
	SavePlugin(ctx context.Context, reg Registration, created time.Time) error
	GetPlugin(ctx context.Context, kind Kind, name, version string) (StoredPlugin, error)
	// RepinPlugin records a new sha256 for a registration (a rehash); a
	// missing one fails with fault.ErrNotFound.
	RepinPlugin(ctx context.Context, kind Kind, name, version, sha256 string) error
	DeletePlugin(ctx context.Context, kind Kind, name, version string) error
	ListPlugins(ctx context.Context) ([]StoredPlugin, error)
}

// StoredPlugin is a persisted registration.
type StoredPlugin struct {
	Registration
	CreatedAt time.Time
}

// PGStore is the PostgreSQL Store (table plugins, migration 0002).
type PGStore struct {
	pool *pgxpool.Pool
}

// NewPGStore returns a Store backed by pool.
func NewPGStore(pool *pgxpool.Pool) *PGStore { return &PGStore{pool: pool} }

// SavePlugin implements Store.
func (s *PGStore) SavePlugin(ctx context.Context, reg Registration, created time.Time) error {
	args, _ := json.Marshal(nonNil(reg.Args))
	env, _ := json.Marshal(nonNil(reg.Env))
	urls, _ := json.Marshal(nonNil(reg.AllowedBaseURLs))
	_, err := s.pool.Exec(ctx, `
		INSERT INTO plugins (kind, name, version, command, args, sha256, env_allowlist, allowed_base_urls, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		string(reg.Kind), reg.Name, reg.Version, reg.Command, args, reg.SHA256, env, urls, created)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("save plugin %s: %w", reg.ID(), fault.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save plugin %s: %w", reg.ID(), err)
	}
	return nil
}

// GetPlugin implements Store.
func (s *PGStore) GetPlugin(ctx context.Context, kind Kind, name, version string) (StoredPlugin, error) {
	rows, err := s.pool.Query(ctx, selectPlugins+` WHERE kind = $1 AND name = $2 AND version = $3`, string(kind), name, version)
	if err != nil {
		return StoredPlugin{}, fmt.Errorf("get plugin: %w", err)
	}
	sp, err := pgx.CollectExactlyOneRow(rows, scanPlugin)
	if errors.Is(err, pgx.ErrNoRows) {
		return StoredPlugin{}, notFound(kind, name, version)
	}
	if err != nil {
		return StoredPlugin{}, fmt.Errorf("get plugin: %w", err)
	}
	return sp, nil
}

// RepinPlugin implements Store.
func (s *PGStore) RepinPlugin(ctx context.Context, kind Kind, name, version, sha256 string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE plugins SET sha256 = $4 WHERE kind = $1 AND name = $2 AND version = $3`,
		string(kind), name, version, sha256)
	if err != nil {
		return fmt.Errorf("repin plugin: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(kind, name, version)
	}
	return nil
}

// DeletePlugin implements Store.
func (s *PGStore) DeletePlugin(ctx context.Context, kind Kind, name, version string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM plugins WHERE kind = $1 AND name = $2 AND version = $3`, string(kind), name, version)
	if err != nil {
		return fmt.Errorf("delete plugin: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(kind, name, version)
	}
	return nil
}

// ListPlugins implements Store.
func (s *PGStore) ListPlugins(ctx context.Context) ([]StoredPlugin, error) {
	rows, err := s.pool.Query(ctx, selectPlugins+` ORDER BY created_at, kind, name, version`)
	if err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanPlugin)
	if err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	return out, nil
}

const selectPlugins = `SELECT kind, name, version, command, args, sha256, env_allowlist, allowed_base_urls, created_at FROM plugins`

func scanPlugin(row pgx.CollectableRow) (StoredPlugin, error) {
	var sp StoredPlugin
	var kind string
	var args, env, urls []byte
	if err := row.Scan(&kind, &sp.Name, &sp.Version, &sp.Command, &args, &sp.SHA256, &env, &urls, &sp.CreatedAt); err != nil {
		return sp, err
	}
	sp.Kind = Kind(kind)
	if err := json.Unmarshal(args, &sp.Args); err != nil {
		return sp, fmt.Errorf("decode plugin args: %w", err)
	}
	if err := json.Unmarshal(env, &sp.Env); err != nil {
		return sp, fmt.Errorf("decode plugin env allowlist: %w", err)
	}
	if err := json.Unmarshal(urls, &sp.AllowedBaseURLs); err != nil {
		return sp, fmt.Errorf("decode plugin allowed base urls: %w", err)
	}
	return sp, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
