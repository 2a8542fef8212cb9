// Package postgres opens Livehouse's shared store for clusters: PostgreSQL through pgx.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

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
	Name:     "postgres",
	Numbered: true,
	UniqueViolation: func(err error) (string, bool) {
		var e *pgconn.PgError
		if errors.As(err, &e) && e.Code == "23505" {
			return e.ConstraintName + " " + e.Detail, true
		}
		return "", false
	},
	// Nodes starting together take turns. The lock is keyed on an arbitrary constant of ours
	// and the schema, so installations in separate schemas of one database do not wait for
	// each other.
	LockMigrations:   `SELECT pg_advisory_lock(741312, hashtext(current_schema()))`,
	UnlockMigrations: `SELECT pg_advisory_unlock(741312, hashtext(current_schema()))`,
}

// Open connects to the database URL (postgres://…) and migrates it.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	s := sqlstore.New(db, dialect)
	if _, err := s.Migrate(ctx, Migrations()); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating postgres: %w", err)
	}
	return s, nil
}
