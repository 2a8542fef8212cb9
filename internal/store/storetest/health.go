package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/store/sqlstore"
	"github.com/livehouse/livehouse/internal/streams"
)

func mustOpenSession(t *testing.T, s Store, id, channelID string, at time.Time) {
	t.Helper()
	if err := s.OpenStreamSession(context.Background(), id, channelID, "", at); err != nil {
		t.Fatalf("OpenStreamSession(%s): %v", id, err)
	}
}

func mustEvent(t *testing.T, s Store, id, name, typ string, at time.Time) {
	t.Helper()
	if err := s.AddStreamEvent(context.Background(), &streams.Event{SessionID: id, At: at, Name: name, Type: typ}); err != nil {
		t.Fatalf("AddStreamEvent(%s, %s): %v", id, name, err)
	}
}

func sessionIDs(list []streams.SessionInfo) []string {
	out := []string{}
	for _, si := range list {
		out = append(out, si.ID)
	}
	return out
}

// testStreamSessionList: a user's sessions come newest first, pages continue after a cursor
// without repeats even when two sessions share a start time, and other users' sessions stay
// out.
func testStreamSessionList(t *testing.T, s Store) {
	ctx := context.Background()
	alice, a := mustCreate(t, s, "alice", "alice@example.com", true)
	_, b := mustCreate(t, s, "bobby", "bob@example.com", true)
	for i := range 5 {
		at := t0.Add(time.Duration(i/2) * time.Hour) // a0,a1 and a2,a3 share a time
		mustOpenSession(t, s, fmt.Sprintf("st-a%d", i), a.ID, at)
		if i < 4 { // a channel has one open session at a time
			if err := s.EndStreamSession(ctx, fmt.Sprintf("st-a%d", i), at); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustOpenSession(t, s, "st-b0", b.ID, t0.Add(10*time.Hour))
	if err := s.StartStreamSession(ctx, "st-a4", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var all []string
	var after *streams.SessionCursor
	for page := 0; page < 5; page++ {
		list, err := s.StreamSessions(ctx, alice.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		all = append(all, sessionIDs(list)...)
		last := list[len(list)-1]
		after = &streams.SessionCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if diff := cmp.Diff([]string{"st-a4", "st-a3", "st-a2", "st-a1", "st-a0"}, all); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	got, err := s.StreamSession(ctx, "st-a4")
	if err != nil {
		t.Fatal(err)
	}
	started := t0.Add(2 * time.Hour)
	want := &streams.SessionInfo{ID: "st-a4", ChannelID: a.ID, UserID: alice.ID, ChannelType: "BASIC", CreatedAt: t0.Add(2 * time.Hour), StartedAt: &started}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StreamSession (-want +got):\n%s", diff)
	}
	if !got.Live() {
		t.Errorf("started, unended session is not live")
	}
	if _, err := s.StreamSession(ctx, "st-nope"); !errors.Is(err, streams.ErrSessionNotFound) {
		t.Errorf("StreamSession(unknown) = %v, want ErrSessionNotFound", err)
	}
}

// testStreamSessionFlags: a limit breach flags a session; the latest health event tells
// whether it is healthy now; the ingest configuration is read back as stored.
func testStreamSessionFlags(t *testing.T, s Store) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	mustOpenSession(t, s, "st-1", a.ID, t0)
	mustEvent(t, s, "st-1", streams.EventSessionCreated, "IVS Stream State Change", t0)
	mustEvent(t, s, "st-1", streams.EventStarvationStart, "IVS Stream Health Change", t0.Add(time.Second))
	si, err := s.StreamSession(ctx, "st-1")
	if err != nil {
		t.Fatal(err)
	}
	if si.HasError || si.Healthy() {
		t.Errorf("starving session: HasError %v Healthy %v, want false false", si.HasError, si.Healthy())
	}
	mustEvent(t, s, "st-1", streams.EventStarvationEnd, "IVS Stream Health Change", t0.Add(2*time.Second))
	mustEvent(t, s, "st-1", streams.EventLimitBreach, "IVS Limit Breach", t0.Add(3*time.Second))
	if err := s.SetIngestConfig(ctx, "st-1", `{"encoder":"x"}`); err != nil {
		t.Fatal(err)
	}
	si, err = s.StreamSession(ctx, "st-1")
	if err != nil {
		t.Fatal(err)
	}
	if !si.HasError || !si.Healthy() || si.IngestConfig != `{"encoder":"x"}` {
		t.Errorf("after breach: HasError %v Healthy %v config %q, want true true {\"encoder\":\"x\"}", si.HasError, si.Healthy(), si.IngestConfig)
	}
}

// testStreamEventsCapped: only the most recent MaxEvents events of a session are kept.
func testStreamEventsCapped(t *testing.T, s Store) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	mustOpenSession(t, s, "st-1", a.ID, t0)
	for i := range streams.MaxEvents + 3 {
		mustEvent(t, s, "st-1", fmt.Sprint("e", i), "IVS Stream Health Change", t0.Add(time.Duration(i)*time.Millisecond))
	}
	events, err := s.StreamEvents(ctx, "st-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != streams.MaxEvents || events[0].Name != "e3" || events[len(events)-1].Name != fmt.Sprint("e", streams.MaxEvents+2) {
		t.Errorf("kept %d events from %s; want %d from e3", len(events), events[0].Name, streams.MaxEvents)
	}
}

// testStreamEventsConcurrent: a session's events written at once from several goroutines
// (the session's own and its recorder's) are all kept, none lost to a clash of numbers.
func testStreamEventsConcurrent(t *testing.T, s Store) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	mustOpenSession(t, s, "st-1", a.ID, t0)
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				errs <- s.AddStreamEvent(ctx, &streams.Event{SessionID: "st-1", At: t0, Name: fmt.Sprint("g", g, "e", i), Type: "IVS Stream State Change"})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("AddStreamEvent: %v", err)
		}
	}
	if events, err := s.StreamEvents(ctx, "st-1"); err != nil || len(events) != 24 {
		t.Errorf("StreamEvents = %d events, %v; want all 24", len(events), err)
	}
}

// testStreamMetrics: a minute written again replaces the earlier write; ranges are
// inclusive and ordered.
func testStreamMetrics(t *testing.T, s Store) {
	ctx := context.Background()
	_, a := mustCreate(t, s, "alice", "alice@example.com", true)
	mustOpenSession(t, s, "st-1", a.ID, t0)
	if err := s.EndStreamSession(ctx, "st-1", t0); err != nil {
		t.Fatal(err)
	}
	mustOpenSession(t, s, "st-2", a.ID, t0)
	m0 := t0.Unix() / 60
	for _, w := range []struct {
		id     string
		minute int64
		data   string
	}{{"st-1", m0 + 2, "c"}, {"st-1", m0, "a"}, {"st-1", m0 + 1, "b"}, {"st-1", m0, "a2"}, {"st-2", m0, "other"}} {
		if err := s.PutStreamMetrics(ctx, w.id, w.minute, []byte(w.data)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.StreamMetrics(ctx, "st-1", m0, m0+1)
	if err != nil {
		t.Fatal(err)
	}
	want := []streams.MetricsMinute{{Minute: m0, Points: []byte("a2")}, {Minute: m0 + 1, Points: []byte("b")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StreamMetrics (-want +got):\n%s", diff)
	}
	if err := s.PutStreamMetrics(ctx, "st-nope", m0, []byte("x")); err == nil {
		t.Errorf("metrics of an unknown session stored")
	}
}

// testStreamRetention: sessions that ended before the cut-off go with their events and
// metrics; open and newer ones stay.
func testStreamRetention(t *testing.T, s Store) {
	ctx := context.Background()
	alice, a := mustCreate(t, s, "alice", "alice@example.com", true)
	ends := map[string]time.Time{"st-old": t0.Add(time.Hour), "st-new": t0.Add(3 * time.Hour)}
	for i, id := range []string{"st-old", "st-new", "st-open"} {
		mustOpenSession(t, s, id, a.ID, t0.Add(time.Duration(i)*time.Hour))
		mustEvent(t, s, id, streams.EventSessionCreated, "IVS Stream State Change", t0)
		if err := s.PutStreamMetrics(ctx, id, t0.Unix()/60, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if end, ok := ends[id]; ok {
			if err := s.EndStreamSession(ctx, id, end); err != nil {
				t.Fatal(err)
			}
		}
	}
	n, err := s.DeleteStreamSessions(ctx, t0.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteStreamSessions = %d, %v; want 1", n, err)
	}
	list, err := s.StreamSessions(ctx, alice.ID, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"st-open", "st-new"}, sessionIDs(list)); diff != "" {
		t.Errorf("sessions kept (-want +got):\n%s", diff)
	}
	events, _ := s.StreamEvents(ctx, "st-old")
	metrics, _ := s.StreamMetrics(ctx, "st-old", 0, 1<<40)
	if len(events) != 0 || len(metrics) != 0 {
		t.Errorf("deleted session left %d events and %d metric minutes", len(events), len(metrics))
	}
}

// OpenMetricsSession seeds one user into a fresh database and opens a stream session "st-12h"
// for WriteSessionMetrics, returning the session's start.
func OpenMetricsSession(ctx context.Context, db *sqlstore.DB) (time.Time, error) {
	start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	if err := Seed(ctx, db, SeedSpec{Users: 1}); err != nil {
		return start, err
	}
	var channelID string
	if err := db.SQL().QueryRowContext(ctx, `SELECT id FROM channels LIMIT 1`).Scan(&channelID); err != nil {
		return start, err
	}
	return start, db.OpenStreamSession(ctx, "st-12h", channelID, "", start)
}

// WriteSessionMetrics stores d of 1-second points for a session from start, as a sampler
// leaves them: one write per minute of points that wobble as a real 2.5 Mbit/s, 30 fps stream's
// do (seeded, so every run writes the same bytes). It returns the bytes of encoded points.
func WriteSessionMetrics(ctx context.Context, s streams.HealthStore, id string, start time.Time, d time.Duration) (int, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	total := 0
	views := 10
	var minute []streams.Point
	flush := func() error {
		if len(minute) == 0 {
			return nil
		}
		raw := streams.EncodeMinute(minute)
		total += len(raw)
		err := s.PutStreamMetrics(ctx, id, minute[0].At.Unix()/60, raw)
		minute = minute[:0]
		return err
	}
	for t := start.Truncate(time.Second); t.Before(start.Add(d)); t = t.Add(time.Second) {
		if len(minute) > 0 && t.Unix()/60 != minute[0].At.Unix()/60 {
			if err := flush(); err != nil {
				return total, err
			}
		}
		views = max(0, views+rng.IntN(3)-1)
		minute = append(minute, streams.Point{
			At: t, VideoBitrate: 2_500_000 + rng.IntN(250_000) - 125_000, AudioBitrate: 128_000 + (rng.IntN(3)-1)*1000,
			Framerate: 30 + float64(rng.IntN(5)-2)/100, KeyframeInterval: 2, Views: views,
		})
	}
	return total, flush()
}
