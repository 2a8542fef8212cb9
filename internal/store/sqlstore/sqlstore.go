// Package sqlstore is Livehouse's persistence over database/sql, written once for both SQL
// dialects. The sqlite and postgres packages open a connection, supply their Dialect (how
// placeholders are written, how a unique violation looks) and their migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// LockMigrations and UnlockMigrations, if set, take and release a session-level lock
	// around the whole migration (creating schema_migrations included), on one connection,
	// so that nodes starting at the same time migrate one after another.
	LockMigrations, UnlockMigrations string
}

// DB is the store.
type DB struct {
	db *sql.DB
	d  Dialect

	// stmts keeps the directory's statements prepared, by their text: preparing one cost
	// about 0.4 ms in SQLite, as much as running it (see prepared).
	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt
}

// New wraps an open database.
func New(db *sql.DB, d Dialect) *DB { return &DB{db: db, d: d, stmts: map[string]*sql.Stmt{}} }

// Close closes the database.
func (s *DB) Close() error {
	s.stmtsMu.Lock()
	for q, st := range s.stmts {
		st.Close()
		delete(s.stmts, q)
	}
	s.stmtsMu.Unlock()
	return s.db.Close()
}

// maxStmts bounds the statements prepared: the directory's shapes (0 to 5 words, a category
// or not, a cursor or not) are far fewer.
const maxStmts = 64

// prepared returns query (already rewritten by q) prepared, preparing it the first time. Only
// queries whose text comes from a bounded set of shapes may come here; past maxStmts it
// prepares nothing and returns nil, for the caller to run the query as it is.
func (s *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtsMu.Lock()
	defer s.stmtsMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	if len(s.stmts) >= maxStmts {
		return nil, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

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
// schema_migrations, in name order, each in its own transaction. With the dialect's lock, the
// whole of it runs under that lock on one connection: two nodes started together on a fresh
// PostgreSQL database otherwise both ran CREATE TABLE IF NOT EXISTS schema_migrations, and
// one of them failed on the catalog's unique index (pg_type_typname_nsp_index).
func (s *DB) Migrate(ctx context.Context, migrations fs.FS) (applied []string, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer conn.Close()
	if s.d.LockMigrations != "" {
		if _, err := conn.ExecContext(ctx, s.d.LockMigrations); err != nil {
			return nil, fmt.Errorf("locking migrations: %w", err)
		}
		defer func() {
			// A lock left behind would be held until the connection closes, which Close
			// below does when the unlock fails.
			unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, uerr := conn.ExecContext(unlockCtx, s.d.UnlockMigrations); uerr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
				if err == nil {
					err = fmt.Errorf("unlocking migrations: %w", uerr)
				}
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("creating schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	for _, name := range names {
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return applied, err
		}
		did, err := s.migrateOne(ctx, conn, name, string(body))
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, name)
		}
	}
	return applied, nil
}

// migrateOne applies one migration in a transaction on conn unless it is recorded already.
func (s *DB) migrateOne(ctx context.Context, conn *sql.Conn, name, body string) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), name).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return false, fmt.Errorf("migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), name, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return true, nil
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
