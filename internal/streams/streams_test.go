package streams

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/stream"
)

// memStore is an in-memory Store that signals each event. Its sessions are open or not, by
// id; other nodes' sessions are those in elsewhere (id to channel), which the store ends as
// stale once staleAfter has passed, at staleAfter; orphans are the sessions it ends on
// recovery.
type memStore struct {
	mu         sync.Mutex
	events     []Event
	seen       chan string
	open       map[string]bool
	suspended  bool
	unverified bool
	elsewhere  map[string]string
	staleAfter time.Time
	leases     map[string]time.Time // node to expiry
	orphans    map[string]EndedSession

	orphansEndedAfterRenewal bool // the lease was renewed before orphans were ended
}

func newMemStore() *memStore {
	return &memStore{seen: make(chan string, 100), open: map[string]bool{}, elsewhere: map[string]string{}, leases: map[string]time.Time{}}
}

func (m *memStore) ChannelByStreamKeyHash(_ context.Context, hash string) (*Channel, error) {
	if hash == "" {
		return nil, ErrUnknownKey
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return &Channel{ID: "ch_1", UserID: "u_1", Type: "BASIC", Suspended: m.suspended, Unverified: m.unverified}, nil
}
func (m *memStore) OpenStreamSession(_ context.Context, id, _, _ string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.elsewhere) > 0 {
		return ErrAlreadyLive
	}
	m.open[id] = true
	return nil
}
func (m *memStore) StartStreamSession(context.Context, string, time.Time) error { return nil }
func (m *memStore) EndStreamSession(_ context.Context, id string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.open[id] = false
	return nil
}
func (m *memStore) AddStreamEvent(_ context.Context, e *Event) error {
	m.mu.Lock()
	m.events = append(m.events, *e)
	m.mu.Unlock()
	m.seen <- e.Name
	return nil
}
func (m *memStore) StreamEvents(context.Context, string) ([]Event, error) { return nil, nil }
func (m *memStore) RenewNodeLease(_ context.Context, node string, _, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leases[node] = expires
	return nil
}
func (m *memStore) DropNodeLease(_ context.Context, node string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.leases, node)
	return nil
}
func (m *memStore) EndStaleStreamSessions(_ context.Context, _ string, at time.Time) (map[string]EndedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.elsewhere) == 0 || at.Before(m.staleAfter) {
		return nil, nil
	}
	ended := map[string]EndedSession{}
	for id, ch := range m.elsewhere {
		ended[id] = EndedSession{ChannelID: ch, EndedAt: m.staleAfter}
	}
	m.elsewhere = map[string]string{}
	return ended, nil
}
func (m *memStore) HasOpenStreamSession(context.Context, string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.elsewhere) > 0, nil
}
func (m *memStore) NodeStreamSessions(context.Context, string) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]bool{}
	for id, open := range m.open {
		if open {
			out[id] = m.suspended
		}
	}
	return out, nil
}
func (m *memStore) EndOrphanedStreamSessions(_ context.Context, node string, _ time.Time) (map[string]EndedSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orphansEndedAfterRenewal = !m.leases[node].IsZero()
	ended := m.orphans
	m.orphans = nil
	return ended, nil
}
func (m *memStore) SetIngestConfig(context.Context, string, string) error { return nil }

// next waits for the next event, up to a bound.
func (m *memStore) next(t *testing.T) string {
	t.Helper()
	select {
	case name := <-m.seen:
		return name
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
		return ""
	}
}

type busRecorder struct {
	mu       sync.Mutex
	subjects []string
	msgs     [][]byte
}

func (b *busRecorder) Publish(_ context.Context, subject string, msg []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subjects = append(b.subjects, subject)
	b.msgs = append(b.msgs, msg)
	return nil
}

func newService(t *testing.T) (*Service, *memStore, *busRecorder) {
	box, _ := channels.NewKeyBox(make([]byte, 32))
	store := newMemStore()
	s := NewService(Deps{Store: store, Box: box, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.starveAfter = 100 * time.Millisecond
	bus := &busRecorder{}
	s.SetBus(bus)
	return s, store, bus
}

func TestSessionLifecycle(t *testing.T) {
	s, store, bus := newService(t)
	// An output reports the stream started twice: only the first counts.
	s.outputs = []Output{&fakeOutput{reports: []Report{{Kind: ReportStarted}, {Kind: ReportStarted}}}}
	ctx := context.Background()
	ch, err := s.Authorize(ctx, "sk_key")
	if err != nil {
		t.Fatal(err)
	}
	kicked := make(chan struct{}, 1)
	st := stream.New(stream.Tracks{H264: &stream.H264{}})
	if _, err := s.Begin(ctx, ch, st, func() { kicked <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	if got := store.next(t); got != EventSessionCreated {
		t.Fatalf("first event %s", got)
	}
	if _, err := s.Authorize(ctx, "sk_key"); err != ErrAlreadyLive {
		t.Errorf("second publisher: %v, want ErrAlreadyLive", err)
	}
	// No media: starving (which may be written before or after Stream Start).
	got := map[string]bool{store.next(t): true, store.next(t): true}
	if !got[EventStreamStart] || !got[EventStarvationStart] {
		t.Fatalf("events %v, want Stream Start and Starvation Start", got)
	}
	st.Write(&stream.Unit{Kind: stream.Video})
	if got := store.next(t); got != EventStarvationEnd {
		t.Fatalf("event %s, want Starvation End", got)
	}
	// A key reset (or a ban, or deletion) stops it from our side.
	s.Stop(ch.ID, "stream key reset")
	select {
	case <-kicked:
	case <-time.After(5 * time.Second):
		t.Fatal("publisher was not disconnected")
	}
	for _, want := range []string{EventStreamEnd, EventSessionEnded} {
		got := store.next(t)
		for got == EventStarvationStart || got == EventStarvationEnd { // a slow machine may starve again first
			got = store.next(t)
		}
		if got != want {
			t.Fatalf("event %s, want %s", got, want)
		}
	}
	if s.Live(ch.ID) != nil {
		t.Errorf("channel still live after Stop")
	}
	if _, err := s.Authorize(ctx, "sk_key"); err != nil {
		t.Errorf("channel not free again: %v", err)
	}
	bus.mu.Lock()
	defer bus.mu.Unlock()
	if len(bus.subjects) < 6 || bus.subjects[0] != "streams.events.ch_1" {
		t.Errorf("bus subjects = %v", bus.subjects)
	}
}

func TestUnsupportedIsRefusedOnTheRecord(t *testing.T) {
	s, store, _ := newService(t)
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	_, err := s.Begin(ctx, ch, stream.New(stream.Tracks{}), func() {})
	if err == nil {
		t.Fatal("a stream without video was accepted")
	}
	var got []string
	for range 3 {
		got = append(got, store.next(t))
	}
	if diff := cmp.Diff([]string{EventSessionCreated, EventStreamEnd, EventSessionEnded}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestShutdownEndsEverySession(t *testing.T) {
	s, store, _ := newService(t)
	ctx := context.Background()
	ch, _ := s.Authorize(ctx, "sk_key")
	l, err := s.Begin(ctx, ch, stream.New(stream.Tracks{H264: &stream.H264{}}), func() {})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	store.mu.Lock()
	open := store.open[l.SessionID]
	store.mu.Unlock()
	if open {
		t.Errorf("session still open after shutdown")
	}
	if _, err := s.Authorize(ctx, "sk_key"); err != ErrShuttingDown {
		t.Errorf("Authorize during shutdown: %v", err)
	}
}

// TestRecoverEndsOrphansBeforeRenewingTheLease: the earlier run's last lease renewal is one
// of its sessions' signs of life, so it must still be there when they are ended.
func TestRecoverEndsOrphansBeforeRenewingTheLease(t *testing.T) {
	s, store, _ := newService(t)
	if _, err := s.Recover(context.Background(), "node-a"); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.orphansEndedAfterRenewal {
		t.Error("orphaned sessions were ended after the lease was renewed: they would end at the restart")
	}
	if store.leases["node-a"].IsZero() {
		t.Error("the lease was not taken")
	}
}

// TestRecoverStampsEventsWithTheSessionsEnd: the closing events of a session a crash left
// open carry the time it ended (its last sign of life), not the time of the restart.
func TestRecoverStampsEventsWithTheSessionsEnd(t *testing.T) {
	restart := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	end := restart.Add(-42 * time.Minute)
	s, store, bus := newService(t)
	s.now = func() time.Time { return restart }
	store.orphans = map[string]EndedSession{"st-crashed": {ChannelID: "ch_1", EndedAt: end}}
	if n, err := s.Recover(context.Background(), "node-a"); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1 session ended", n, err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	var got []string
	for _, e := range store.events {
		got = append(got, e.Name)
		if e.SessionID != "st-crashed" || !e.At.Equal(end) {
			t.Errorf("%s of %s at %v, want of st-crashed at %v (not the restart, %v)", e.Name, e.SessionID, e.At, end, restart)
		}
	}
	if diff := cmp.Diff([]string{EventStreamEnd, EventSessionEnded}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	bus.mu.Lock()
	defer bus.mu.Unlock()
	for _, m := range bus.msgs {
		var e struct{ At time.Time }
		if err := json.Unmarshal(m, &e); err != nil || !e.At.Equal(end) {
			t.Errorf("published event %s: at %v (%v), want %v", m, e.At, err, end)
		}
	}
}
