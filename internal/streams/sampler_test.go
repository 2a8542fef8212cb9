package streams

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// metricsStore records the minutes written and the retention cut-off asked for.
type metricsStore struct {
	HealthStore
	mu      sync.Mutex
	minutes map[int64][]byte
	writes  chan struct{}
	purged  time.Time
}

func (m *metricsStore) PutStreamMetrics(_ context.Context, _ string, minute int64, points []byte) error {
	m.mu.Lock()
	m.minutes[minute] = points
	m.mu.Unlock()
	m.writes <- struct{}{}
	return nil
}

func (m *metricsStore) DeleteStreamSessions(_ context.Context, before time.Time) (int, error) {
	m.purged = before
	return 1, nil
}

type fixedViewers int

func (v fixedViewers) Viewers(string) int { return int(v) }

// TestSampler runs a live session measured by Health with a ticker the test drives: each tick
// is a point, every flushEvery points the minute is written, a new minute starts a new row,
// and the session's end writes what is left.
func TestSampler(t *testing.T) {
	store := &metricsStore{minutes: map[int64][]byte{}, writes: make(chan struct{}, 10)}
	now := time.Date(2026, 12, 1, 10, 0, 57, 0, time.UTC) // three seconds before a new minute
	h := NewHealth(store, fixedViewers(4), slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
	h.flushEvery = 2
	ticks := make(chan time.Time)
	h.ticker = func() (<-chan time.Time, func()) { return ticks, func() {} }
	s, _, _ := newService(t)
	s.health, s.starveAfter = h, time.Hour
	seen := &tapped{units: make(chan struct{}, 1000)}
	s.outputs = []Output{seen}
	ch, _ := s.Authorize(context.Background(), "sk_key")
	st := stream.New(stream.Tracks{H264: &stream.H264{}})
	l, err := s.Begin(context.Background(), ch, st, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer l.End("test over")

	// tick waits until the session measured a second's units (a tap sees each unit after the
	// session's bookkeeping of it), then ends that second.
	second := 0
	tick := func() {
		t.Helper()
		units := append(videoSecond(second, 60), audioUntil(time.Duration(second)*time.Second, time.Duration(second+1)*time.Second)...)
		for _, u := range units {
			st.Write(u)
		}
		for range units {
			select {
			case <-seen.units:
			case <-time.After(10 * time.Second):
				t.Fatal("the session did not read the second's units")
			}
		}
		second++
		ticks <- now.Add(time.Duration(second) * time.Second)
	}
	// written waits for the sampler's next write, up to a bound.
	written := func(what string) {
		t.Helper()
		select {
		case <-store.writes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no write %s", what)
		}
	}
	tick() // 10:00:57
	tick() // 10:00:58 → written (2 points)
	written("after flushEvery points")
	tick() // 10:00:59
	tick() // 10:01:00: a new minute → 10:00 written with 3 points
	written("when a new minute began")
	l.End("encoder disconnected") // 10:01 written with 1 point
	written("when the session ended")

	m0 := now.Unix() / 60
	first, err := DecodeMinute(m0, store.minutes[m0])
	if err != nil {
		t.Fatal(err)
	}
	second1, err := DecodeMinute(m0+1, store.minutes[m0+1])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range append(first, second1...) {
		got = append(got, p.At.Format("15:04:05"))
		if p.Views != 4 {
			t.Errorf("%v: views %d, want 4", p.At, p.Views)
		}
	}
	if diff := cmp.Diff([]string{"10:00:57", "10:00:58", "10:00:59", "10:01:00"}, got); diff != "" {
		t.Errorf("points written (-want +got):\n%s", diff)
	}
	var frames int
	var audio float64
	for _, p := range append(first, second1...) {
		frames += int(p.Framerate + 0.5)
		audio += float64(p.AudioBitrate)
	}
	if frames == 0 {
		t.Errorf("no frames counted in %d seconds of video", second)
	}
	if got, want := audio/float64(len(got)), audioSize*8/aacFrame.Seconds(); !near(got, want, 0.05) {
		t.Errorf("the points' audio bitrate is %.0f bps on average, want %.0f", got, want)
	}
}

// tapped is an output that signals every unit the session's goroutine has taken.
type tapped struct{ units chan struct{} }

func (o *tapped) Start(v *View) Run {
	v.Tap("test", func(*stream.Unit) Report { o.units <- struct{}{}; return Report{} })
	return nil
}

func TestPurge(t *testing.T) {
	store := &metricsStore{}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h := NewHealth(store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
	if n, err := h.Purge(context.Background(), 60*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if want := now.AddDate(0, 0, -60); !store.purged.Equal(want) {
		t.Errorf("purged sessions ended before %v, want %v", store.purged, want)
	}
}
