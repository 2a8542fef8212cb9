package streams

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
)

// SPS of x264 streams at two sizes (ffmpeg testsrc2, -preset ultrafast).
var (
	sps720, _ = hex.DecodeString("6742c01fda014016ec0440000003004000000f03c60ca8")
	sps360, _ = hex.DecodeString("6742c01eda0280bfe5c044000003000400000300f03c58ba80")
	pps       = []byte{0x68, 0xce, 0x38, 0x80}
)

// unitLog is an output that keeps every unit the session's stream carries.
type unitLog struct {
	mu    sync.Mutex
	units []*stream.Unit
}

func (o *unitLog) Start(v *View) Run {
	v.Tap("log", func(u *stream.Unit) Report {
		o.mu.Lock()
		o.units = append(o.units, u)
		o.mu.Unlock()
		return Report{}
	})
	return nil
}

func (o *unitLog) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.units)
}

// feed writes a second of 10 fps video starting with a keyframe carrying sps, with times
// from 0 on the encoder's own clock.
func feed(st *stream.Stream, sps []byte) {
	for i := range 10 {
		u := &stream.Unit{Kind: stream.Video, PTS: time.Duration(i) * 100 * time.Millisecond, NTP: time.Now(), Payload: [][]byte{{0x41, 0x9a}}}
		if i == 0 {
			u.Key, u.Payload = true, [][]byte{sps, pps, {0x65, 0x88}}
		}
		st.Write(u)
	}
}

func waitCount(t *testing.T, o *unitLog, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // only a failing run waits it out
	for o.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the session's stream carried %d units, want %d", o.count(), n)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestReconnectContinuesTheSession: an encoder that leaves and comes back on the same key
// within the grace period continues the same session, its times following on from the
// first encoder's; a new picture size is a Resolution Change, the reconnect a Stream
// Reconnected; when no encoder comes back, the session ends after the grace period with
// the encoder's reason.
func TestReconnectContinuesTheSession(t *testing.T) {
	s, store, _ := newService(t)
	s.starveAfter = time.Hour
	s.grace = time.Hour // the reconnect below comes in time however slow the machine
	out := &unitLog{}
	s.outputs = []Output{out}
	ctx := context.Background()

	ch, err := s.Authorize(ctx, "sk_key")
	if err != nil {
		t.Fatal(err)
	}
	first := stream.New(stream.Tracks{H264: &stream.H264{SPS: sps720, PPS: pps}})
	e1, err := s.Begin(ctx, ch, first, func() {})
	if err != nil {
		t.Fatal(err)
	}
	feed(first, sps720)
	waitCount(t, out, 10)
	e1.End("encoder disconnected") // returns at once: the session waits
	if got := store.next(t); got != EventSessionCreated {
		t.Fatalf("event %s", got)
	}
	// The channel is not free for a new session, but the key may come back.
	waitFor(t, func() bool { ch2, err := s.Authorize(ctx, "sk_key"); return err == nil && ch2 != nil })

	second := stream.New(stream.Tracks{H264: &stream.H264{SPS: sps360, PPS: pps}})
	second.Write(&stream.Unit{Kind: stream.Video, PTS: 0}) // before Begin: nobody reads it
	e2, err := s.Begin(ctx, ch, second, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if e2.SessionID != e1.SessionID {
		t.Fatalf("the reconnect opened session %s, want %s continued", e2.SessionID, e1.SessionID)
	}
	// A second publisher meanwhile is refused.
	if _, err := s.Authorize(ctx, "sk_key"); err != ErrAlreadyLive {
		t.Errorf("Authorize while the reconnected encoder publishes: %v, want ErrAlreadyLive", err)
	}
	second.Write(&stream.Unit{Kind: stream.Audio, PTS: 0}) // before its first keyframe: dropped
	feed(second, sps360)
	waitCount(t, out, 20)
	for _, want := range []string{EventStreamReconnected, EventResolutionChange} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	store.mu.Lock()
	detail := store.events[len(store.events)-1].Detail
	store.mu.Unlock()
	if detail != `{"from":"1280x720","to":"640x360"}` {
		t.Errorf("Resolution Change detail = %s", detail)
	}
	out.mu.Lock()
	units := append([]*stream.Unit(nil), out.units...)
	out.mu.Unlock()
	if len(units) != 20 {
		t.Fatalf("%d units, want 20 (the second encoder's pre-keyframe units dropped)", len(units))
	}
	for i := 1; i < len(units); i++ {
		if units[i].PTS <= units[i-1].PTS {
			t.Errorf("unit %d at %v after %v: the timeline went back", i, units[i].PTS, units[i-1].PTS)
		}
	}
	if !units[10].Key || units[10].PTS < 900*time.Millisecond+10*time.Millisecond {
		t.Errorf("the reconnected encoder's first unit: key %v at %v, want a keyframe after 900 ms", units[10].Key, units[10].PTS)
	}

	// No encoder comes back: the session ends after the grace period, with the reason.
	s.grace = 50 * time.Millisecond // read when the encoder leaves
	e2.End("encoder disconnected")
	for _, want := range []string{EventStreamEnd, EventSessionEnded} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	if !strings.Contains(store.events[len(store.events)-1].Detail, "encoder disconnected") {
		t.Errorf("end detail %s", store.events[len(store.events)-1].Detail)
	}
	waitFor(t, func() bool { return s.Live(ch.ID) == nil }) // freed right after the events
}

// TestReconnectWithOtherTracksStartsANewSession: audio of another kind cannot continue the
// session's packaging; the waiting session ends and a new one begins.
func TestReconnectWithOtherTracksStartsANewSession(t *testing.T) {
	s, store, _ := newService(t)
	s.starveAfter = time.Hour
	s.grace = time.Hour
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	e1, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{SPS: sps720, PPS: pps}, Opus: &stream.Opus{ChannelCount: 2}}), func() {})
	if err != nil {
		t.Fatal(err)
	}
	e1.End("encoder disconnected")
	waitFor(t, func() bool { _, err := s.Authorize(ctx, "sk_key"); return err == nil })
	e2, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{SPS: sps720, PPS: pps}}), func() {})
	if err != nil {
		t.Fatal(err)
	}
	if e2.SessionID == e1.SessionID {
		t.Fatal("an encoder with other tracks continued the session")
	}
	for _, want := range []string{EventSessionCreated, EventStreamEnd, EventSessionEnded, EventSessionCreated} {
		if got := store.next(t); got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	e2.End("done")
}

// TestGraceZeroEndsAtOnce: without a grace period End ends the session before returning.
func TestGraceZeroEndsAtOnce(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	e, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{SPS: sps720, PPS: pps}}), func() {})
	if err != nil {
		t.Fatal(err)
	}
	e.End("encoder disconnected")
	if s.Live(ch.ID) != nil {
		t.Error("the session outlived End without a grace period")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}
