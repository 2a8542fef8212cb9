// Package sqlite opens Livehouse's embedded default store: a SQLite file in the data dir,
// through the pure-Go modernc driver, in WAL mode with foreign keys and a busy timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/livehouse/livehouse/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are this dialect's schema changes.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

var dialect = sqlstore.Dialect{
	Name: "sqlite",
	UniqueViolation: func(err error) (string, bool) {
		var e *sqlite.Error
		if errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return e.Error(), true
		}
		return "", false
	},
}

// Open opens (creating if needed) the database file at path and migrates it. ":memory:" is a
// private in-memory database, for tests.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
		// Reads of the database file through a memory map, shared by every connection,
		// instead of a read system call for each page the connection's own small cache (2
		// MiB) lacks: at 100,000 channels, those reads were half the CPU time of a
		// directory search. The map grows with the file up to this bound.
		q.Add("_pragma", "mmap_size(1073741824)")
	}
	q.Set("_txlock", "immediate") // writers queue on the busy timeout instead of failing to upgrade
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1) // each connection would otherwise see its own empty database
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	s := sqlstore.New(db, dialect)
	if _, err := s.Migrate(ctx, Migrations()); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating sqlite %s: %w", path, err)
	}
	return s, nil
}
