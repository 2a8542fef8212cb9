package record

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/media/hls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// runRecorder runs rec.Run until the returned stop is called (or the test ends); stop waits
// for Run to return, at most 3 minutes, and returns its error.
func runRecorder(t *testing.T, rec *Recorder) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- rec.Run(ctx) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		select {
		case err := <-ran:
			return err
		case <-time.After(3 * time.Minute):
			return errors.New("Run did not return")
		}
	}
}

// TestSessionEndsWhileTheRecordingIsFinished: the recorder finishes a recording after its
// session (and after the packager has closed the session's muxers, in the packager's own
// run), so the session ends at once and the channel takes its next stream, even while the
// store still holds the previous recording's segments; Run waits for that finishing.
func TestSessionEndsWhileTheRecordingIsFinished(t *testing.T) {
	t.Parallel()
	folder, _ := storage.NewFolder(t.TempDir())
	media := &slowStore{Store: folder, release: make(chan struct{})}
	recs := &fakeRecordings{}
	pkg := hls.NewPackager(hls.DefaultConfig, quiet(), nil)
	rec := newTestRecorder(testConfig, recs, media, hlsPackager{pkg})
	stopRun := runRecorder(t, rec)

	sessions := streamstest.New(streams.Channel{})
	svc := streams.NewService(streams.Deps{Store: sessions, Log: quiet(), Outputs: []streams.Output{pkg, rec}})
	ch := &streams.Channel{ID: "ch1", UserID: "u1", Type: "BASIC"}
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac}

	first := stream.New(tracks)
	enc, err := svc.Begin(context.Background(), ch, first, func() {})
	if err != nil {
		t.Fatal(err)
	}
	firstID := enc.SessionID
	publishPaced(t, first, pkg, ch.ID, 12) // 2 objects a track, none of which the store takes yet
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
	publishPaced(t, second, pkg, ch.ID, 8)
	close(media.release)
	enc2.End("the streamer stopped")

	if err := stopRun(); err != nil { // Run returns once both recordings are finished
		t.Fatal(err)
	}
	recs.mu.Lock()
	defer recs.mu.Unlock()
	for id, want := range map[string]int{firstID: 2, enc2.SessionID: 2} {
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

// TestReconnectContinuesTheRecording: an encoder that comes back within the grace period
// continues its session, and so its recording (one recording, the time of both encoders);
// a session after that one has ended is a new recording.
func TestReconnectContinuesTheRecording(t *testing.T) {
	t.Parallel()
	media, _ := storage.NewFolder(t.TempDir())
	recs := &fakeRecordings{}
	pkg := hls.NewPackager(hls.DefaultConfig, quiet(), nil)
	rec := newTestRecorder(testConfig, recs, media, hlsPackager{pkg})
	stopRun := runRecorder(t, rec)

	sessions := streamstest.New(streams.Channel{})
	// A grace period far longer than the test takes between the two encoders.
	svc := streams.NewService(streams.Deps{Store: sessions, Log: quiet(), Outputs: []streams.Output{pkg, rec}, ReconnectGrace: 5 * time.Minute})
	defer svc.Shutdown()
	ch := &streams.Channel{ID: "ch1", UserID: "u1", Type: "BASIC"}
	tracks := stream.Tracks{H264: &stream.H264{SPS: sps1080, PPS: pps1080}, AAC: aac}

	first := stream.New(tracks)
	enc, err := svc.Begin(context.Background(), ch, first, func() {})
	if err != nil {
		t.Fatal(err)
	}
	// 4 s: fewer units than the session's own queue holds, so that the session has measured
	// all of them when the second encoder's times are made to follow them.
	publish(first.Write, 4, 0)
	enc.End("the connection dropped") // the session waits for the encoder
	again := stream.New(tracks)
	// Until the session has seen its encoder go, the channel is live: try again until it
	// waits for the encoder.
	var enc2 *streams.Encoder
	for deadline := time.Now().Add(2 * time.Minute); ; {
		enc2, err = svc.Begin(context.Background(), ch, again, func() {})
		if !errors.Is(err, streams.ErrAlreadyLive) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if enc2.SessionID != enc.SessionID {
		t.Fatalf("the reconnect opened session %s, want %s continued", enc2.SessionID, enc.SessionID)
	}
	// The session forwards the second encoder's units into its stream as it reads them, from
	// a queue of its own: publish a second at a time, giving it a moment between seconds,
	// until the recording holds a segment from 4 s on (the second encoder's), and 8 s at least.
	prefix := recordings.Prefix(ch.ID, enc.SessionID)
	for sec := 0; sec < 8 || !storedFrom(media, prefix, 4); sec++ {
		if sec == 120 {
			t.Fatal("the reconnected encoder's media never reached the recording")
		}
		publishRange(again.Write, sec, sec+1, 0)
		time.Sleep(20 * time.Millisecond) // pacing, not synchronisation: the loop polls
	}
	enc2.Live.End("the streamer stopped")

	third := stream.New(tracks)
	enc3, err := svc.Begin(context.Background(), ch, third, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if enc3.SessionID == enc.SessionID {
		t.Fatal("a go-live after the session ended continued it")
	}
	// Written all at once and ended at once: the session can be over, and its packaging
	// closed, before the recorder's run starts (the recorder used to look the packaging up
	// there, found none, and recorded nothing: a third of runs on a busy machine).
	publish(third.Write, 4, 0)
	enc3.Live.End("the streamer stopped")

	if err := stopRun(); err != nil {
		t.Fatal(err)
	}
	recs.mu.Lock()
	defer recs.mu.Unlock()
	if want := []string{enc.SessionID, enc3.SessionID}; !slices.Equal(recs.begun, want) {
		t.Errorf("recordings begun %v, want %v: one per session", recs.begun, want)
	}
	// Both encoders' media is in the one recording: more than the first one's 4 s.
	if p := recs.ended[enc.SessionID]; p.Duration < 8*time.Second {
		t.Errorf("the reconnected session's recording: %+v, want 8 s or more", p)
	}
	if p := recs.ended[enc3.SessionID]; p.Duration < 3*time.Second || p.Duration > 5*time.Second {
		t.Errorf("the next session's recording: %+v, want its 4 s", p)
	}
}

// storedFrom reports whether a recording holds a video segment starting at sec or later.
func storedFrom(media storage.Store, prefix string, sec int64) bool {
	objs, _ := media.List(context.Background(), prefix+"video1/0", "", 100)
	for _, o := range objs {
		seg, ok := parseSegment("video1", strings.TrimPrefix(o.Key, prefix+"video1/"), o.Size)
		if ok && (seg.start-llhlsStart)/seg.scale >= sec {
			return true
		}
	}
	return false
}

// publishPaced publishes seconds [0, seconds) of media into a session's stream a GOP (2 s) at a
// time, each once the channel's source muxer has completed the segment before the last one
// (polling the packaging), so that a burst never overflows the session's queue (512 units,
// about 6 s) on a busy machine: the packager taps the session's own reading of the stream.
func publishPaced(t *testing.T, st *stream.Stream, pkg *hls.Packager, channelID string, seconds int) {
	t.Helper()
	for k := 0; 2*k < seconds; k++ {
		publishRange(st.Write, 2*k, min(2*k+2, seconds), 0)
		if k == 0 {
			continue
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
			if pk, ok := pkg.Packaging(channelID); ok {
				segs := pk.Source().SegmentsAfter("video1", int64(k)-2)
				for _, seg := range segs {
					seg.Release()
				}
				if len(segs) > 0 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the session did not package second %d", 2*k)
			}
		}
	}
}
