package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"

	"github.com/livehouse/livehouse/internal/store/postgres"
	"github.com/livehouse/livehouse/internal/store/storetest"
)

// freshSchema creates an empty schema on the test server and returns a URL that uses it, so
// tests and CI runs never see each other's rows. It is dropped when the test ends.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("LIVEHOUSE_TEST_POSTGRES_URL is not set; PostgreSQL store tests skipped")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := fmt.Sprintf("lh_test_%d_%d", os.Getpid(), rand.Uint64())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := postgres.Open(context.Background(), freshSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applied, err := s.Migrate(ctx, postgres.Migrations())
	if err != nil || len(applied) != 0 {
		t.Errorf("second Migrate applied %v, %v; want nothing", applied, err)
	}
}
