package record

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
)

// sessionStore is the streams store the hand-off test needs: sessions and their events.
type sessionStore struct {
	mu    sync.Mutex
	open  map[string]string // session id to channel id, while open
	ended []string
}

func (m *sessionStore) ChannelByStreamKeyHash(context.Context, string) (*streams.Channel, error) {
	return nil, streams.ErrUnknownKey
}
func (m *sessionStore) OpenStreamSession(_ context.Context, id, channelID, _ string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.open {
		if ch == channelID {
			return streams.ErrAlreadyLive
		}
	}
	m.open[id] = channelID
	return nil
}
func (m *sessionStore) StartStreamSession(context.Context, string, time.Time) error { return nil }
func (m *sessionStore) EndStreamSession(_ context.Context, id string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.open, id)
	m.ended = append(m.ended, id)
	return nil
}
func (m *sessionStore) AddStreamEvent(context.Context, *streams.Event) error  { return nil }
func (m *sessionStore) SetIngestConfig(context.Context, string, string) error { return nil }
func (m *sessionStore) EndOrphanedStreamSessions(context.Context, string, time.Time) (map[string]streams.EndedSession, error) {
	return nil, nil
}
func (m *sessionStore) StreamEvents(context.Context, string) ([]streams.Event, error) {
	return nil, nil
}
func (m *sessionStore) RenewNodeLease(context.Context, string, time.Time, time.Time) error {
	return nil
}
func (m *sessionStore) DropNodeLease(context.Context, string) error { return nil }
func (m *sessionStore) EndStaleStreamSessions(context.Context, string, time.Time) (map[string]streams.EndedSession, error) {
	return nil, nil
}
func (m *sessionStore) HasOpenStreamSession(context.Context, string) (bool, error) {
	return false, nil
}
func (m *sessionStore) NodeStreamSessions(context.Context, string) (map[string]bool, error) {
	return nil, nil
}

// TestSessionEndsWhileTheRecordingIsFinished: the recorder finishes a recording after its
// session, so the session ends at once and the channel takes its next stream, even while the
// store still holds the previous recording's segments; Run waits for that finishing.
func TestSessionEndsWhileTheRecordingIsFinished(t *testing.T) {
	t.Parallel()
	folder, _ := storage.NewFolder(t.TempDir())
	media := &slowStore{Store: folder, release: make(chan struct{})}
	recs := &fakeRecordings{}
	rec := newTestRecorder(testConfig, recs, media)
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	ran := make(chan error, 1)
	go func() { ran <- rec.Run(runCtx) }()

	sessions := &sessionStore{open: map[string]string{}}
	svc := streams.NewService(streams.Deps{Store: sessions, Log: quiet(), Outputs: []streams.Output{rec}})
	ch := &streams.Channel{ID: "ch1", UserID: "u1", Type: "BASIC"}
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac}

	first := stream.New(tracks)
	enc, err := svc.Begin(context.Background(), ch, first, func() {})
	if err != nil {
		t.Fatal(err)
	}
	firstID := enc.SessionID
	publish(first, 12, 0) // 3 segments a track, none of which the store takes yet
	ended := make(chan struct{})
	go func() {
		enc.End("the streamer stopped")
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(2 * time.Minute):
		close(media.release)
		t.Fatal("the session did not end while its recording's segments were held")
	}
	if !rec.Finishing(firstID) {
		t.Errorf("Finishing(%s) = false while its segments are held", firstID)
	}

	// A republish right away is accepted, and recorded, while the first is still finishing.
	second := stream.New(tracks)
	enc2, err := svc.Begin(context.Background(), ch, second, func() {})
	if err != nil {
		close(media.release)
		t.Fatalf("republish while the last recording is finishing: %v", err)
	}
	if enc2.SessionID == firstID {
		t.Fatal("the republish continued the ended session")
	}
	publish(second, 8, 0)
	close(media.release)
	enc2.End("the streamer stopped")

	stopRun() // Run returns once both recordings are finished
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("Run did not return")
	}
	recs.mu.Lock()
	defer recs.mu.Unlock()
	for id, want := range map[string]int{firstID: 3, enc2.SessionID: 2} {
		if p, ok := recs.ended[id]; !ok || p.Segments < want {
			t.Errorf("recording %s: ended %v with %+v, want at least %d segments", id, ok, p, want)
		}
	}
	if rec.Finishing(firstID) || rec.Finishing(enc2.SessionID) {
		t.Error("Finishing after Run returned")
	}
	var evs []string
	for _, r := range rec.events.(*fakeEvents).all() {
		evs = append(evs, r.Event)
	}
	if n := countOf(evs, streams.EventRecordingEnd); n != 2 {
		t.Errorf("events %v, want two Recording End", evs)
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
