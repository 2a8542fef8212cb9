// Package sqlstore is Livehouse's persistence over database/sql, written once for both SQL
// dialects. The sqlite and postgres packages open a connection, supply their Dialect (how
// placeholders are written, how a unique violation looks) and their migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dialect is what differs between databases.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, …) instead of "?".
	Numbered bool
	// UniqueViolation reports whether err is a unique-constraint violation and, if so, text
	// naming the constraint or column.
	UniqueViolation func(err error) (string, bool)
	// LockMigrations, if set, is run inside the migration transaction to serialise nodes that
	// start at the same time.
	LockMigrations string
}

// DB is the store.
type DB struct {
	db *sql.DB
	d  Dialect
}

// New wraps an open database.
func New(db *sql.DB, d Dialect) *DB { return &DB{db: db, d: d} }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping checks the database answers, for /healthz.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Dialect names the database, for logs.
func (s *DB) Dialect() string { return s.d.Name }

// SQL exposes the connection pool to the dialect packages' tests and benchmarks.
func (s *DB) SQL() *sql.DB { return s.db }

// q rewrites "?" placeholders for the dialect. Queries here never contain a literal "?".
func (s *DB) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inTx runs fn in a transaction, committing if it returns nil.
func (s *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Migrate applies the *.sql files of migrations that are not yet recorded in
// schema_migrations, in name order, each in its own transaction.
func (s *DB) Migrate(ctx context.Context, migrations fs.FS) ([]string, error) {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var applied []string
	for _, name := range names {
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return applied, err
		}
		did := false
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if s.d.LockMigrations != "" {
				if _, err := tx.ExecContext(ctx, s.d.LockMigrations); err != nil {
					return fmt.Errorf("locking migrations: %w", err)
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), name, time.Now().UnixMilli())
			did = err == nil
			return err
		})
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

// Times are stored as Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
