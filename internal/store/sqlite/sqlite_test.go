package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/store/sqlite"
	"github.com/livehouse/livehouse/internal/store/sqlstore"
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

// TestQueryPlansUseIndexes: the channel-page queries search indexes, never scan a table, so
// their cost grows with the page, not with the number of users.
func TestQueryPlansUseIndexes(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "livehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plans, err := s.QueryPlans(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, plan := range plans {
		for _, line := range strings.Split(plan, "\n") {
			// hits is the search's own short list: the live channels of one word.
			if strings.HasPrefix(line, "SCAN") && !strings.Contains(line, "USING INDEX") && !strings.Contains(line, "USING COVERING INDEX") && line != "SCAN hits" {
				t.Errorf("%s scans a table: %q\nplan:\n%s", name, line, plan)
			}
		}
	}
	// The directory and its next pages walk stream_sessions_live in its order: no sort.
	for _, name := range []string{"directory", "page"} {
		if !strings.Contains(plans[name], "stream_sessions_live") || strings.Contains(plans[name], "TEMP B-TREE") {
			t.Errorf("%s does not read stream_sessions_live in order:\n%s", name, plans[name])
		}
	}
	if !strings.Contains(plans["following"], "follows_by_follower") || !strings.Contains(plans["directory"], "stream_sessions_live") ||
		!strings.Contains(plans["search"], "live_terms_by_channel") || !strings.Contains(plans["search"], "stream_sessions_one_open") ||
		strings.Contains(plans["search"], "stream_sessions_live") {
		t.Errorf("plans do not use the intended indexes:\n%v", plans)
	}
}

var seeded struct {
	once sync.Once
	dir  string
	s    *sqlstore.DB
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if seeded.s != nil {
		seeded.s.Close()
		os.RemoveAll(seeded.dir)
	}
	os.Exit(code)
}

// BenchmarkSeeded measures the directory, a channel page and a following list on a database
// of storetest.BenchSpec's size (seeded once per run).
func BenchmarkSeeded(b *testing.B) {
	seeded.once.Do(func() {
		ctx := context.Background()
		if seeded.dir, seeded.err = os.MkdirTemp("", "livehouse-bench"); seeded.err != nil {
			return
		}
		if seeded.s, seeded.err = sqlite.Open(ctx, filepath.Join(seeded.dir, "livehouse.db")); seeded.err != nil {
			return
		}
		start := time.Now()
		seeded.err = storetest.Seed(ctx, seeded.s, storetest.BenchSpec)
		b.Logf("seeded SQLite with %+v in %v", storetest.BenchSpec, time.Since(start).Round(time.Second))
	})
	if seeded.err != nil {
		b.Fatal(seeded.err)
	}
	storetest.Bench(b, seeded.s, seeded.s, storetest.BenchSpec)
}

// BenchmarkStreamMetrics12h writes a 12-hour session's 1-second metrics (43,200 points in
// 720 minute rows) into a fresh database and reports what they take on disk: the database
// file's growth after a WAL checkpoint, and the encoded points alone.
func BenchmarkStreamMetrics12h(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "livehouse.db")
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		start, err := storetest.OpenMetricsSession(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		before := dbSize(b, s, path)
		b.StartTimer()
		encoded, err := storetest.WriteSessionMetrics(ctx, s, "st-12h", start, 12*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(dbSize(b, s, path)-before), "disk-B/12h-session")
		b.ReportMetric(float64(encoded), "encoded-B/12h-session")
		s.Close()
		b.StartTimer()
	}
}

// dbSize checkpoints the WAL into the database file and returns the file's size.
func dbSize(b *testing.B, s *sqlstore.DB, path string) int64 {
	b.Helper()
	if _, err := s.SQL().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

func TestNotificationStore(t *testing.T) {
	storetest.RunNotifications(t, func(t *testing.T) storetest.NotificationStore {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "livehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// BenchmarkPollVote is one poll vote on a SQLite file (storetest.BenchVotes).
func BenchmarkPollVote(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "livehouse.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchVotes(b, s)
}
