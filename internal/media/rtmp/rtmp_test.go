package rtmp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// replayConn plays recorded client bytes to the server and discards what it answers.
type replayConn struct{ r io.Reader }

func (c *replayConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *replayConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// testChannel is the channel every test stream key opens.
var testChannel = streams.Channel{ID: "ch_test", UserID: "u_test", Type: "BASIC"}

// counter is an output that counts the units of each live stream.
type counter struct {
	mu           sync.Mutex
	video, audio int
	tracks       stream.Tracks
	arrived      []time.Time // each unit's NTP, in order
}

func (c *counter) Start(v *streams.View) streams.Run {
	r := v.NewReader("count", 10_000)
	c.mu.Lock()
	c.tracks = v.Tracks
	c.mu.Unlock()
	return func(context.Context, chan<- streams.Report) error {
		for u := range r.C { // until the session ends
			c.mu.Lock()
			c.arrived = append(c.arrived, u.NTP)
			if u.Kind == stream.Video {
				c.video++
			} else {
				c.audio++
			}
			c.mu.Unlock()
		}
		return nil
	}
}

func newTestServer() (*Server, *streamstest.Store, *counter) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	box, _ := channels.NewKeyBox(make([]byte, 32))
	store, out := streamstest.New(testChannel), &counter{}
	return &Server{ingest: streams.NewService(streams.Deps{Store: store, Box: box, Log: log, Outputs: []streams.Output{out}}), log: log}, store, out
}

// TestReplayFFmpegPublish feeds a recorded ffmpeg publish session (H.264 + AAC) through the
// server and checks that it becomes a session with both tracks and their units.
func TestReplayFFmpegPublish(t *testing.T) {
	data, err := os.ReadFile("testdata/ffmpeg-publish.bin")
	if err != nil {
		t.Fatal(err)
	}
	s, store, out := newTestServer()
	err = s.handle(context.Background(), &replayConn{r: bytes.NewReader(data)})
	if err == nil {
		t.Fatal("handle returned nil at the end of the recording")
	}
	if testing.Verbose() {
		t.Logf("handle ended with: %v", err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.tracks.H264 == nil || out.tracks.AAC == nil || len(out.tracks.H264.SPS) == 0 {
		t.Fatalf("tracks = %+v", out.tracks)
	}
	if out.video == 0 || out.audio == 0 {
		t.Errorf("units: %d video, %d audio", out.video, out.audio)
	}
	if events := store.EventNames(); len(events) < 3 || events[0] != streams.EventSessionCreated || events[len(events)-1] != streams.EventSessionEnded {
		t.Errorf("events = %v", events)
	}
	// The encoder's onMetaData and the stream's own parameters were captured.
	var ic streams.IngestConfig
	if err := json.Unmarshal([]byte(store.Ingest()), &ic); err != nil {
		t.Fatalf("ingest config %q: %v", store.Ingest(), err)
	}
	if !strings.HasPrefix(ic.Encoder, "Lavf") || ic.Width != 160 || ic.Height != 120 || ic.TargetFramerate != 10 ||
		!strings.HasPrefix(ic.VideoCodec, "avc1.") || ic.AVCProfile == "" || ic.AudioCodec != "mp4a.40.2" || ic.AudioSampleRate != 44100 {
		t.Errorf("ingest config = %+v", ic)
	}
}

// gatedReader signals reached at its first Read and then waits for open.
type gatedReader struct {
	r             io.Reader
	reached, open chan struct{}
	once          sync.Once
}

func (g *gatedReader) Read(b []byte) (int, error) {
	g.once.Do(func() { close(g.reached) })
	<-g.open
	return g.r.Read(b)
}

// TestReadAheadKeepsArrivalTimes: gortmplib's reader reads two seconds of media ahead before it
// hands any over. The units it then replays carry the times their messages arrived (the
// packager dates segments by them), not all the instant of the replay.
func TestReadAheadKeepsArrivalTimes(t *testing.T) {
	data, err := os.ReadFile("testdata/ffmpeg-publish.bin")
	if err != nil {
		t.Fatal(err)
	}
	const split = 12_000 // the handshake, the tracks' headers and well under two seconds of media
	gate := &gatedReader{r: bytes.NewReader(data[split:]), reached: make(chan struct{}), open: make(chan struct{})}
	s, _, out := newTestServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.handle(context.Background(), &replayConn{r: io.MultiReader(bytes.NewReader(data[:split]), gate)})
	}()
	<-gate.reached // every message of the first part has been read
	resumed := time.Now()
	close(gate.open)
	<-done
	out.mu.Lock()
	defer out.mu.Unlock()
	early := 0
	for _, at := range out.arrived {
		if at.Before(resumed) {
			early++
		}
	}
	if early == 0 || early == len(out.arrived) {
		t.Fatalf("%d of %d units stamped before the rest of the stream was sent; want some, not all", early, len(out.arrived))
	}
	for i, at := range out.arrived[:early] {
		if !at.Before(resumed) {
			t.Fatalf("unit %d stamped %v after the rest was sent, though it came before", i, at.Sub(resumed))
		}
	}
}

func TestStreamKeyFromURL(t *testing.T) {
	for path, want := range map[string]string{
		"/live/sk_abc":   "sk_abc",
		"/live/":         "",
		"/app/sk_abc":    "",
		"/live/sk_abc/x": "",
		"/live/sk_a?x=1": "sk_a",
		"":               "",
	} {
		sc := serverConnWithPath(path)
		got, ok := streamKey(sc)
		if ok != (want != "") || got != want && ok {
			t.Errorf("streamKey(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

func serverConnWithPath(path string) *gortmplib.ServerConn {
	if path == "" {
		return &gortmplib.ServerConn{}
	}
	u, _ := url.Parse("rtmp://host" + path)
	return &gortmplib.ServerConn{URL: u}
}

// FuzzHandle feeds arbitrary bytes to the RTMP server as a client connection: handshake,
// chunk stream, AMF commands and FLV tags all go through the parser, which must never panic
// or hang.
func FuzzHandle(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, _ := newTestServer()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = s.handle(context.Background(), &replayConn{r: bytes.NewReader(data)})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handle did not return on a finished connection")
		}
	})
}
