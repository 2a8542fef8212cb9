package srt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// counter is an output that counts the units of each live stream and checks their order.
type counter struct {
	mu           sync.Mutex
	video, audio int
	keys         int
	tracks       stream.Tracks
	lastVideo    time.Duration
	backwards    int
}

func (c *counter) Start(v *streams.View) streams.Run {
	r := v.NewReader("count", 10_000)
	c.mu.Lock()
	c.tracks = v.Tracks
	c.mu.Unlock()
	return func(context.Context, chan<- streams.Report) error {
		for u := range r.C {
			c.mu.Lock()
			if u.Kind == stream.Video {
				c.video++
				if u.Key {
					c.keys++
				}
				if u.PTS < c.lastVideo-time.Second { // B-frames reorder by a few frames only
					c.backwards++
				}
				c.lastVideo = max(c.lastVideo, u.PTS)
			} else {
				c.audio++
			}
			c.mu.Unlock()
		}
		return nil
	}
}

type testServer struct {
	*Server
	store *streamstest.Store
	out   *counter
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	box, _ := channels.NewKeyBox(make([]byte, 32))
	store, out := streamstest.New(streams.Channel{ID: "ch_test", UserID: "u_test", Type: "BASIC"}).WithKeyHash(box.Hash("sk_good")), &counter{}
	svc := streams.NewService(streams.Deps{Store: store, Box: box, Log: log, Outputs: []streams.Output{out}})
	cfg.Addr = "127.0.0.1:0"
	srv, err := Listen(cfg, svc, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &testServer{Server: srv, store: store, out: out}
}

// ffmpegSRT publishes two seconds of a test pattern and tone as MPEG-TS over SRT.
func ffmpegSRT(t *testing.T, url string, codec ...string) ([]byte, error) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed (make test installs it)")
	}
	if len(codec) == 0 {
		codec = []string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "2"}, codec...)
	args = append(args, "-c:a", "aac", "-f", "mpegts", url)
	return exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
}

func (ts *testServer) url(query string) string {
	return "srt://" + ts.Addr().String() + "?" + query
}

// waitUnits waits until the output has seen most of a two-second stream (ffmpeg closes its
// socket with the last half second still in SRT's latency window).
func (ts *testServer) waitUnits(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // only a failing run waits it out
	for {
		ts.out.mu.Lock()
		c := ts.out
		ok := c.tracks.H264 != nil && c.tracks.AAC != nil && c.video >= 30 && c.audio >= 30 && c.keys >= 1
		msg := fmt.Sprintf("tracks %+v, %d video units (%d keyframes, %d backwards), %d audio units", c.tracks, c.video, c.keys, c.backwards, c.audio)
		backwards := c.backwards
		ts.out.mu.Unlock()
		if ok {
			if backwards > 0 {
				t.Errorf("video times went back: %s", msg)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SRT session got %s", msg)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestSRTPublish: ffmpeg publishes MPEG-TS over SRT with the stream id OBS uses; the right
// key becomes a session with H.264 and AAC, a wrong key and a malformed stream id are
// refused during the handshake.
func TestSRTPublish(t *testing.T) {
	ts := startServer(t, Config{Latency: 200 * time.Millisecond})
	if out, err := ffmpegSRT(t, ts.url("streamid=publish:sk_wrong")); err == nil {
		t.Errorf("ffmpeg with a wrong key succeeded over SRT: %s", out)
	}
	if out, err := ffmpegSRT(t, ts.url("streamid=read:sk_good")); err == nil {
		t.Errorf("ffmpeg with a read stream id succeeded over SRT: %s", out)
	}
	if names := ts.store.EventNames(); len(names) != 0 {
		t.Errorf("refused handshakes made events %v", names)
	}
	if out, err := ffmpegSRT(t, ts.url("streamid=publish:sk_good")); err != nil {
		t.Fatalf("ffmpeg over SRT: %v: %s", err, out)
	}
	ts.waitUnits(t)
	waitEvents(t, ts.store, streams.EventSessionEnded)
	for _, want := range []string{`"videoCodec":"avc1.`, `"width":320`, `"height":240`, `"audioCodec":"mp4a.40.2"`, `"audioSampleRate":48000`} {
		if !strings.Contains(ts.store.Ingest(), want) {
			t.Errorf("ingest configuration %s lacks %s", ts.store.Ingest(), want)
		}
	}
}

// waitEvents waits until the store holds an event named last.
func waitEvents(t *testing.T, store *streamstest.Store, last string) []streams.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		events := store.Events()
		for _, e := range events {
			if e.Name == last {
				return events
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event in %v", last, store.EventNames())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestSRTRefusesH265: an H.265 stream is refused with a clear reason on the record.
func TestSRTRefusesH265(t *testing.T) {
	ts := startServer(t, Config{})
	// ffmpeg fails once refused; what it said is kept for a run that never reached the server
	// (seen once with no event at all, the machine under the whole of make test).
	out, err := ffmpegSRT(t, ts.url("streamid=publish:sk_good"), "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error")
	t.Logf("ffmpeg: %v: %s", err, out)
	events := waitEvents(t, ts.store, streams.EventSessionEnded)
	found := false
	for _, e := range events {
		if e.Name == streams.EventStreamEnd && strings.Contains(e.Detail, "H.265") {
			found = true
		}
	}
	if !found {
		t.Errorf("no Stream End naming H.265 in %+v", events)
	}
	if ts.out.tracks.H264 != nil {
		t.Errorf("an H.265 stream went live")
	}
}

// TestSRTPassphrase: with srt_passphrase set, a publisher without it or with another one is
// refused, one with it publishes.
func TestSRTPassphrase(t *testing.T) {
	ts := startServer(t, Config{Passphrase: "correct horse battery"})
	if out, err := ffmpegSRT(t, ts.url("streamid=publish:sk_good")); err == nil {
		t.Errorf("an unencrypted publisher succeeded: %s", out)
	}
	if out, err := ffmpegSRT(t, ts.url("streamid=publish:sk_good&passphrase=wrong+horse+battery")); err == nil {
		t.Errorf("a wrong passphrase succeeded: %s", out)
	}
	if out, err := ffmpegSRT(t, ts.url("streamid=publish:sk_good&passphrase=correct+horse+battery")); err != nil {
		t.Fatalf("the right passphrase: %v: %s", err, out)
	}
	ts.waitUnits(t)
}
