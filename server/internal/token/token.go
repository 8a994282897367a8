// Package token manages API bearer tokens: minting (the secret is shown once),
// listing, revoking and authenticating a presented secret.
//
// A secret is "moose_" followed by 256 random bits in base64url. Only its
// sha256 is stored: with that much entropy a slow password hash adds nothing,
// and a lookup by hash is one indexed read per call. A token has a name (the
// actor recorded for what it does), scopes and an optional expiry.
//
// Scopes nest: write includes read, admin includes write and read. read
// covers every query; write changes projects, work orders, specs and
// datasets; admin changes plugins, variants, routing and experiments, and
// manages tokens. The server's interceptor decides which scope a call needs.
//
// Bootstrap mints the first admin token when the database has none and writes
// it to a 0600 file, so a fresh installation works without a manual step.
package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/moosehq/moose/server/internal/fault"
)

// Scope is what a token may do.
type Scope string

// Scopes, from least to most.
const (
	Read  Scope = "read"
	Write Scope = "write"
	Admin Scope = "admin"
)

// Scopes lists every scope, least first.
var Scopes = []Scope{Read, Write, Admin}

func (s Scope) rank() int { return slices.Index(Scopes, s) }

// SecretPrefix starts every secret, so one found in a log or a repository is
// recognisable.
const SecretPrefix = "moose_"

// BootstrapName is the name of the admin token Bootstrap mints.
const BootstrapName = "admin"

// Token is a token's record; the secret is never part of it.
type Token struct {
	ID         string
	Name       string
	Scopes     []Scope
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Allows reports whether the token's scopes include need (scopes nest).
func (t Token) Allows(need Scope) bool {
	for _, s := range t.Scopes {
		if s.rank() >= need.rank() {
			return true
		}
	}
	return false
}

// ParseScopes validates scope names; at least one is required.
func ParseScopes(names []string) ([]Scope, error) {
	var out []Scope
	for _, n := range names {
		s := Scope(strings.ToLower(strings.TrimSpace(n)))
		if s.rank() < 0 {
			return nil, fault.Invalid("scopes", "unknown scope %q: must be read, write or admin", n)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fault.Invalid("scopes", "at least one scope is required (read, write or admin)")
	}
	return out, nil
}

type ctxKey struct{}

// NewContext returns ctx carrying the authenticated token.
func NewContext(ctx context.Context, t Token) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// FromContext returns the token that authenticated the request, if any.
func FromContext(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(Token)
	return t, ok
}

// Service stores tokens in PostgreSQL.
type Service struct {
	pool *pgxpool.Pool
	now  func() time.Time

	mu       sync.Mutex
	lastSeen map[string]time.Time // token id → last recorded use, to write last_used_at at most once a minute
}

// NewService returns a Service over pool.
func NewService(pool *pgxpool.Pool) *Service {
	return &Service{pool: pool, now: time.Now, lastSeen: map[string]time.Time{}}
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$`)

const columns = `id, name, scopes, created_at, expires_at, last_used_at, revoked_at`

func scan(row pgx.CollectableRow) (Token, error) {
	var t Token
	var id uuid.UUID
	var scopes []string
	if err := row.Scan(&id, &t.Name, &scopes, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
		return Token{}, err
	}
	t.ID = id.String()
	for _, s := range scopes {
		t.Scopes = append(t.Scopes, Scope(s))
	}
	return t, nil
}

// Create mints a token and returns it with its secret. ttl 0 means no expiry.
func (s *Service) Create(ctx context.Context, name string, scopes []string, ttl time.Duration) (Token, string, error) {
	v := &fault.ValidationError{}
	if !namePattern.MatchString(name) {
		v.Add("name", "must be 1-63 letters, digits, '.', '_', '@' or '-'")
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		var ve *fault.ValidationError
		if errors.As(err, &ve) {
			v.Violations = append(v.Violations, ve.Violations...)
		}
	}
	if ttl < 0 {
		v.Add("ttl", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return Token{}, "", err
	}
	return s.insert(ctx, s.pool, name, sc, ttl)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Service) insert(ctx context.Context, q querier, name string, scopes []Scope, ttl time.Duration) (Token, string, error) {
	secret, err := newSecret()
	if err != nil {
		return Token{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	var expires *time.Time
	if ttl > 0 {
		e := s.now().Add(ttl)
		expires = &e
	}
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	sum := hash(secret)
	rows, err := q.Query(ctx, `INSERT INTO api_tokens (id, name, secret_sha256, scopes, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+columns, id, name, sum[:], names, expires)
	if err != nil {
		return Token{}, "", fmt.Errorf("create token %s: %w", name, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scan)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Token{}, "", fmt.Errorf("create token %s: a live token with that name exists: %w", name, fault.ErrConflict)
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("create token %s: %w", name, err)
	}
	return t, secret, nil
}

// List returns every token, oldest first.
func (s *Service) List(ctx context.Context) ([]Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// Revoke makes a token (by id, or by name among live tokens) unusable at once.
// Revoking a revoked token returns it unchanged.
func (s *Service) Revoke(ctx context.Context, idOrName string) (Token, error) {
	idOrName = strings.TrimSpace(idOrName)
	if idOrName == "" {
		return Token{}, fault.Invalid("id", "a token id or name is required")
	}
	var rows pgx.Rows
	var err error
	if id, perr := uuid.Parse(idOrName); perr == nil {
		rows, err = s.pool.Query(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING `+columns, id)
	} else {
		rows, err = s.pool.Query(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING `+columns, idOrName)
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %s: %w", idOrName, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, fmt.Errorf("token %s: %w", idOrName, fault.ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %s: %w", idOrName, err)
	}
	return t, nil
}

// errBadToken is the one answer for every unusable secret, so a caller learns
// nothing about which tokens exist.
var errBadToken = fmt.Errorf("the bearer token is unknown, revoked or expired: %w", fault.ErrUnauthenticated)

// Authenticate returns the live token whose secret this is.
func (s *Service) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 128 {
		return Token{}, errBadToken
	}
	sum := hash(secret)
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM api_tokens WHERE secret_sha256 = $1`, sum[:])
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, errBadToken
	}
	if err != nil {
		return Token{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.now()
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return Token{}, errBadToken
	}
	s.touch(ctx, t.ID, now)
	return t, nil
}

// touch records a use, at most once a minute per token and node: last_used_at
// is for people deciding what to revoke, not an audit log.
func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	s.mu.Lock()
	last, ok := s.lastSeen[id]
	if ok && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return
	}
	s.lastSeen[id] = now
	s.mu.Unlock()
	// A failed write loses one timestamp, never the call.
	_, _ = s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, id)
}

// Bootstrap mints an admin token named "admin" when the database holds no
// token at all, and writes its secret to path (mode 0600, parents created).
// It reports whether it minted one. Several servers starting at once against
// one database mint at most one token between them.
func (s *Service) Bootstrap(ctx context.Context, path string) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap admin token: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('moose.api_tokens.bootstrap'))`); err != nil {
		return false, fmt.Errorf("bootstrap admin token: %w", err)
	}
	var any bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_tokens)`).Scan(&any); err != nil {
		return false, fmt.Errorf("bootstrap admin token: %w", err)
	}
	if any {
		return false, nil
	}
	_, secret, err := s.insert(ctx, tx, BootstrapName, []Scope{Admin}, 0)
	if err != nil {
		return false, err
	}
	if err := WriteSecretFile(path, secret); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		_ = os.Remove(path)
		return false, fmt.Errorf("bootstrap admin token: %w", err)
	}
	return true, nil
}

// WriteSecretFile writes secret to path readable by its owner only, replacing
// any previous file atomically.
func WriteSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("write token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write token file %s: %w", path, err)
	}
	return nil
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token secret: %w", err)
	}
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func hash(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }
