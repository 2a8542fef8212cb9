package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/store/sqlstore"
)

// TestOneOpenSessionMigration: a database from before migration 0009 may hold two open
// sessions of one channel (two nodes each took the key); the migration keeps the newest open
// and ends the others, so the unique index can be built.
func TestOneOpenSessionMigration(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "old.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := sqlstore.New(db, dialect)
	before := fstest.MapFS{}
	names, _ := fs.Glob(Migrations(), "*.sql")
	for _, name := range names {
		if name < "0009" {
			body, _ := fs.ReadFile(Migrations(), name)
			before[name] = &fstest.MapFile{Data: body}
		}
	}
	if _, err := s.Migrate(ctx, before); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, username, username_key, email, email_key, password_hash, color, avatar, created_at, updated_at) VALUES ('u_1', 'a', 'a', 'a@x', 'a@x', 'h', 'c', 'v', 0, 0)`,
		`INSERT INTO channels (id, user_id, type, created_at) VALUES ('ch_1', 'u_1', 'BASIC', 0)`,
		`INSERT INTO stream_sessions (id, channel_id, created_at, started_at, node) VALUES ('st-old', 'ch_1', 1000, 1000, 'a'), ('st-tie1', 'ch_1', 2000, 2000, 'b'), ('st-tie2', 'ch_1', 2000, 2000, 'c')`,
		`INSERT INTO stream_sessions (id, channel_id, created_at, ended_at) VALUES ('st-done', 'ch_1', 500, 600)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	applied, err := s.Migrate(ctx, Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || !strings.HasPrefix(applied[0], "0009") {
		t.Fatalf("applied %v, want 0009 first", applied)
	}
	rows, err := db.QueryContext(ctx, `SELECT id, COALESCE(ended_at, -1) FROM stream_sessions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var id string
		var ended int64
		rows.Scan(&id, &ended)
		got[id] = ended
	}
	want := map[string]int64{"st-done": 600, "st-old": 1000, "st-tie1": 2000, "st-tie2": -1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sessions after the migration, id to ended_at (-want +got):\n%s", diff)
	}
}
