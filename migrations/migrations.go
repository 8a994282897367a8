// Package migrations holds Moose's database schema as numbered SQL files embedded
// in the binary, and applies them with goose under a PostgreSQL advisory lock so
// that several moosed processes starting at once against one database apply each
// migration exactly once.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// Up applies every pending migration. It holds a session-level advisory lock for
// the duration, so concurrent callers wait for each other instead of racing.
func Up(ctx context.Context, db *sql.DB) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("create migration locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goMigrations()...),
	)
	if err != nil {
		return fmt.Errorf("create migration provider: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Hash identifies the current set of migrations; test harnesses use it to decide
// whether a cached template database is still current.
func Hash() string {
	h := sha256.New()
	names, _ := fs.Glob(files, "*.sql")
	sort.Strings(names)
	for _, n := range names {
		b, _ := files.ReadFile(n)
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	for _, m := range goMigrations() {
		fmt.Fprintf(h, "go:%d\x00", m.Version)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// goMigrations lists migrations written in Go (none yet besides SQL files).
func goMigrations() []*goose.Migration { return nil }
