package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/livehouse/livehouse/internal/store/sqlite"
	"github.com/livehouse/livehouse/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "livehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "livehouse.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := s.Migrate(ctx, sqlite.Migrations())
	if err != nil || len(applied) != 0 {
		t.Errorf("third Migrate applied %v, %v; want nothing", applied, err)
	}
}
