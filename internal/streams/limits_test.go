package streams

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

func TestLimitsFor(t *testing.T) {
	tests := []struct {
		typ         string
		w, h        int
		wantBitrate int
		breach      bool
	}{
		{"BASIC", 640, 360, 1_500_000, false},
		{"BASIC", 854, 480, 1_500_000, false},
		{"BASIC", 1280, 720, 3_500_000, false},
		{"BASIC", 1920, 1080, 3_500_000, false},
		{"BASIC", 2560, 1440, 3_500_000, true},
		{"STANDARD", 1920, 1080, 8_500_000, false},
		{"STANDARD", 1080, 1920, 8_500_000, false},
		{"STANDARD", 3840, 2160, 8_500_000, true},
	}
	for _, tt := range tests {
		l := LimitsFor(tt.typ, tt.w, tt.h)
		_, over := resolutionBreach(l, tt.w, tt.h)
		if l.MaxBitrate != tt.wantBitrate || over != tt.breach {
			t.Errorf("%s %dx%d: bitrate %d breach %v; want %d %v", tt.typ, tt.w, tt.h, l.MaxBitrate, over, tt.wantBitrate, tt.breach)
		}
	}
}

// beginLimited starts a session with a 50 ms limit window on a stream whose SPS does not
// parse, so it is treated as ≤ 480p: 1.5 Mbps.
func beginLimited(t *testing.T, kick func()) (*Service, *memStore, *Channel, *stream.Stream) {
	t.Helper()
	s, store, _ := newService(t)
	s.limitWindow = 50 * time.Millisecond
	s.starveAfter = time.Hour
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	st := stream.New(stream.Tracks{H264: &stream.H264{}})
	if _, err := s.Begin(ctx, ch, st, kick); err != nil {
		t.Fatal(err)
	}
	if got := store.next(t); got != EventSessionCreated {
		t.Fatalf("event %s", got)
	}
	return s, store, ch, st
}

func TestBitrateBreachDisconnects(t *testing.T) {
	kicked := make(chan struct{}, 1)
	s, store, ch, st := beginLimited(t, func() { kicked <- struct{}{} })
	big := make([]byte, 200_000) // 1.6 Mbit per unit
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; s.Live(ch.ID) != nil && time.Now().Before(deadline); i++ {
		st.Write(&stream.Unit{Kind: stream.Video, PTS: time.Duration(i) * 5 * time.Millisecond, Payload: [][]byte{big}})
		time.Sleep(5 * time.Millisecond) // pacing the fake encoder, not synchronisation
	}
	if got := store.next(t); got != EventLimitBreach {
		t.Fatalf("event %s, want Limit Breach", got)
	}
	store.mu.Lock()
	var detail map[string]any
	for _, e := range store.events {
		if e.Name == EventLimitBreach {
			json.Unmarshal([]byte(e.Detail), &detail)
		}
	}
	store.mu.Unlock()
	if detail["limit_name"] != "Bitrate" || detail["limit_value"] != float64(1_500_000) || detail["limit_unit"] != "bps" || detail["exceeded_by"].(float64) <= 0 {
		t.Errorf("breach detail = %v", detail)
	}
	for _, want := range []string{EventStreamEnd, EventSessionEnded} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	select {
	case <-kicked:
	case <-time.After(5 * time.Second):
		t.Fatal("the publisher was not disconnected")
	}
}

// TestBitrateBurstWithinLimit: an encoder that sends a backlog at once (as after connecting)
// stays within the limit when its media's bitrate does: the window is media time.
func TestBitrateBurstWithinLimit(t *testing.T) {
	s, store, ch, st := beginLimited(t, func() {})
	unit := make([]byte, 750) // 1.2 Mbps in 5 ms units
	for i := range 60 {
		st.Write(&stream.Unit{Kind: stream.Video, PTS: time.Duration(i) * 5 * time.Millisecond, Payload: [][]byte{unit}})
		if i >= 20 { // the first 100 ms piled up while the encoder connected; then real time
			time.Sleep(5 * time.Millisecond) // pacing the fake encoder, not synchronisation
		}
	}
	s.Stop(ch.ID, "done") // the watcher reads every unit written before it ends
	for _, want := range []string{EventStreamEnd, EventSessionEnded} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
}
