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
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
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

// riverSchemaVersion pins River's own schema so that upgrading the library
// never changes what an already-released migration does.
const riverSchemaVersion = 8

// goMigrations lists migrations written in Go. Version 3 installs the job
// queue's tables (River) inside our history, so one advisory-locked run
// brings a database fully up to date. It runs outside a transaction: River's
// migrations add an enum value and use it, which PostgreSQL 15 refuses inside
// one transaction.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(3,
			&goose.GoFunc{Mode: goose.TransactionDisabled, RunDB: func(ctx context.Context, db *sql.DB) error {
				m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
				if err != nil {
					return fmt.Errorf("river migrator: %w", err)
				}
				_, err = m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: riverSchemaVersion})
				return err
			}},
			&goose.GoFunc{Mode: goose.TransactionDisabled, RunDB: func(ctx context.Context, db *sql.DB) error {
				m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
				if err != nil {
					return fmt.Errorf("river migrator: %w", err)
				}
				_, err = m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1})
				return err
			}},
		),
	}
}
