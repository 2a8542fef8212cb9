package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/store/postgres"
	"github.com/livehouse/livehouse/internal/store/sqlstore"
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
	u, drop, err := newSchema(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return u
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

// TestNodesMigrateTogether starts several migrators at once on a fresh schema, as nodes of a
// cluster started together do, several times over: every one succeeds, the schema is
// migrated once, and the lock is not left held.
func TestNodesMigrateTogether(t *testing.T) {
	const nodes, rounds = 4, 5
	want := 0
	if names, err := fs.Glob(postgres.Migrations(), "*.sql"); err == nil {
		want = len(names)
	}
	for round := range rounds {
		u := freshSchema(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		errs := make(chan error, nodes)
		start := make(chan struct{})
		for range nodes {
			go func() {
				<-start
				s, err := postgres.Open(ctx, u)
				if err == nil {
					s.Close()
				}
				errs <- err
			}()
		}
		close(start)
		for range nodes {
			if err := <-errs; err != nil {
				t.Errorf("round %d: a node failed to migrate: %v", round, err)
			}
		}
		s, err := postgres.Open(ctx, u)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var recorded int
		if err := s.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&recorded); err != nil || recorded != want {
			t.Errorf("round %d: %d migrations recorded (%v), want %d", round, recorded, err, want)
		}
		// The lock is free again: taking it without waiting succeeds.
		var free bool
		if err := s.SQL().QueryRowContext(ctx, `SELECT pg_try_advisory_lock(741312, hashtext(current_schema()))`).Scan(&free); err != nil || !free {
			t.Errorf("round %d: the migration lock is still held (%v)", round, err)
		}
		s.Close()
		cancel()
	}
}

var seeded struct {
	once sync.Once
	s    *sqlstore.DB
	err  error
}

// BenchmarkSeeded measures the directory, a channel page and a following list on a database
// of storetest.BenchSpec's size, seeded once per run into a schema dropped at the end.
func BenchmarkSeeded(b *testing.B) {
	seeded.once.Do(func() {
		ctx := context.Background()
		url := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL")
		if url == "" {
			seeded.err = errSkip
			return
		}
		schemaURL, drop, err := newSchema(url)
		if err != nil {
			seeded.err = err
			return
		}
		dropSeeded = drop
		if seeded.s, seeded.err = postgres.Open(ctx, schemaURL); seeded.err != nil {
			return
		}
		start := time.Now()
		seeded.err = storetest.Seed(ctx, seeded.s, storetest.BenchSpec)
		b.Logf("seeded PostgreSQL with %+v in %v", storetest.BenchSpec, time.Since(start).Round(time.Second))
	})
	if seeded.err == errSkip {
		b.Skip("LIVEHOUSE_TEST_POSTGRES_URL is not set")
	}
	if seeded.err != nil {
		b.Fatal(seeded.err)
	}
	storetest.Bench(b, seeded.s, seeded.s, storetest.BenchSpec)
}

var (
	errSkip    = errors.New("skip")
	dropSeeded = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if seeded.s != nil {
		seeded.s.Close()
	}
	dropSeeded()
	os.Exit(code)
}

// newSchema creates a fresh schema and returns a URL using it and a function dropping it.
func newSchema(base string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("lh_test_%d_%d", os.Getpid(), rand.Uint64())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		return "", nil, err
	}
	drop := func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() }
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// BenchmarkStreamMetrics12h writes a 12-hour session's 1-second metrics (43,200 points in 720
// minute rows) and reports what the stream_metrics table then takes (heap, TOAST and
// index), next to the encoded points alone.
func BenchmarkStreamMetrics12h(b *testing.B) {
	base := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL")
	if base == "" {
		b.Skip("LIVEHOUSE_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		u, drop, err := newSchema(base)
		if err != nil {
			b.Fatal(err)
		}
		s, err := postgres.Open(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		start, err := storetest.OpenMetricsSession(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		encoded, err := storetest.WriteSessionMetrics(ctx, s, "st-12h", start, 12*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var size int64
		if _, err := s.SQL().Exec(`VACUUM stream_metrics`); err != nil {
			b.Fatal(err)
		}
		if err := s.SQL().QueryRow(`SELECT pg_total_relation_size('stream_metrics')`).Scan(&size); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size), "disk-B/12h-session")
		b.ReportMetric(float64(encoded), "encoded-B/12h-session")
		s.Close()
		drop()
		b.StartTimer()
	}
}

func TestNotificationStore(t *testing.T) {
	storetest.RunNotifications(t, func(t *testing.T) storetest.NotificationStore {
		s, err := postgres.Open(context.Background(), freshSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// BenchmarkPollVote is one poll vote on PostgreSQL (storetest.BenchVotes).
func BenchmarkPollVote(b *testing.B) {
	base := os.Getenv("LIVEHOUSE_TEST_POSTGRES_URL")
	if base == "" {
		b.Skip("LIVEHOUSE_TEST_POSTGRES_URL is not set")
	}
	u, drop, err := newSchema(base)
	if err != nil {
		b.Fatal(err)
	}
	defer drop()
	s, err := postgres.Open(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchVotes(b, s)
}
