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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abema/go-mp4"
	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

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
	arrived      []time.Time   // each unit's NTP, in order
	began        chan struct{} // closed when a session starts
}

func (c *counter) Start(v *streams.View) streams.Run {
	r := v.NewReader("count", 10_000)
	c.mu.Lock()
	c.tracks = v.Tracks
	if c.began != nil {
		close(c.began)
		c.began = nil
	}
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
	store, out := streamstest.New(testChannel), &counter{began: make(chan struct{})}
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

// TestStreamBeginsAtItsHeaders: an encoder that declares its codecs (ffmpeg does, in
// onMetaData) goes live as soon as their sequence headers have come, not after two seconds of
// media, and every unit carries the time its message arrived (the packager dates segments by
// it).
func TestStreamBeginsAtItsHeaders(t *testing.T) {
	data, err := os.ReadFile("testdata/ffmpeg-publish.bin")
	if err != nil {
		t.Fatal(err)
	}
	const split = 12_000 // the handshake, the metadata, the headers and well under two seconds of media
	gate := &gatedReader{r: bytes.NewReader(data[split:]), reached: make(chan struct{}), open: make(chan struct{})}
	s, _, out := newTestServer()
	began := out.began
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.handle(context.Background(), &replayConn{r: io.MultiReader(bytes.NewReader(data[:split]), gate)})
	}()
	<-gate.reached // every message of the first part has been read
	select {
	case <-began:
	case <-time.After(10 * time.Second): // a bound for a failing run, not a wait for success
		close(gate.open)
		t.Fatal("the session had not begun with the headers and the first second of media in")
	}
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

// scriptConn hands out messages in order, then io.EOF.
type scriptConn struct {
	msgs []message.Message
	read int
}

func (c *scriptConn) Read() (message.Message, error) {
	if c.read == len(c.msgs) {
		return nil, io.EOF
	}
	c.read++
	return c.msgs[c.read-1], nil
}
func (c *scriptConn) Write(message.Message) error { return nil }
func (c *scriptConn) BytesReceived() uint64       { return 0 }
func (c *scriptConn) BytesSent() uint64           { return 0 }

func TestFindTracks(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0x99, 0x20}
	pps := []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
	meta := func(entries ...amf0.ObjectEntry) message.Message {
		return &message.DataAMF0{Payload: amf0.Data{"@setDataFrame", "onMetaData", amf0.Object(entries)}}
	}
	video := amf0.ObjectEntry{Key: "videocodecid", Value: float64(7)}
	audio := amf0.ObjectEntry{Key: "audiocodecid", Value: float64(10)}
	videoHeader := &message.Video{Codec: message.CodecH264, Type: message.VideoTypeConfig, AVCConfig: &mp4.AVCDecoderConfiguration{
		SequenceParameterSets: []mp4.AVCParameterSet{{NALUnit: sps}}, PictureParameterSets: []mp4.AVCParameterSet{{NALUnit: pps}}}}
	audioHeader := &message.Audio{Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeConfig,
		AACConfig: &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 44100, ChannelConfig: 2}}
	frame := func(ms int) message.Message {
		return &message.Video{Codec: message.CodecH264, Type: message.VideoTypeAU, DTS: time.Duration(ms) * time.Millisecond, AU: []byte{0, 0, 0, 1, 0x65}}
	}
	sound := func(ms int) message.Message {
		return &message.Audio{Codec: message.CodecMPEG4Audio, AACType: message.AudioAACTypeAU, DTS: time.Duration(ms) * time.Millisecond, AU: []byte{1}}
	}
	frames := func(from, to int) (m []message.Message) {
		for ms := from; ms <= to; ms += 100 {
			m = append(m, frame(ms))
		}
		return m
	}
	for _, tc := range []struct {
		name         string
		msgs         []message.Message
		read         int // messages read before the tracks are known
		video, audio bool
	}{
		{"both declared: their headers", []message.Message{meta(video, audio), videoHeader, audioHeader, frame(0), sound(0)}, 3, true, true},
		{"both declared, audio header first", []message.Message{meta(video, audio), audioHeader, videoHeader, frame(0)}, 3, true, true},
		{"video declared: its header", []message.Message{meta(video), videoHeader, frame(0), frame(100)}, 2, true, false},
		{"both declared, no audio: two seconds of media", slices.Concat([]message.Message{meta(video, audio), videoHeader}, frames(0, 2500)), 2 + 21, true, false},
		{"none declared: both headers", slices.Concat([]message.Message{meta(), videoHeader}, frames(0, 500), []message.Message{audioHeader, frame(600)}), 2 + 6 + 1, true, true},
		{"no metadata, video only: two seconds of media", slices.Concat([]message.Message{videoHeader}, frames(0, 2500)), 1 + 21, true, false},
		{"an MP3 track declared: seen at its first frame", []message.Message{meta(video, audio), videoHeader, frame(0), &message.Audio{Codec: message.CodecMPEG1Audio, DTS: 0, AU: []byte{1}}}, 4, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &scriptConn{msgs: tc.msgs}
			tracks, early, err := findTracks(&metaConn{Conn: c})
			if err != nil {
				t.Fatal(err)
			}
			if c.read != tc.read || len(early) != tc.read {
				t.Errorf("read %d messages (%d kept) before the tracks were known, want %d", c.read, len(early), tc.read)
			}
			if (tracks.H264 != nil) != tc.video || (tracks.AAC != nil) != tc.audio {
				t.Errorf("tracks: video %v, audio %v; want %v, %v", tracks.H264 != nil, tracks.AAC != nil, tc.video, tc.audio)
			}
			if tc.video && !bytes.Equal(tracks.H264.SPS, sps) {
				t.Errorf("SPS %x, want %x", tracks.H264.SPS, sps)
			}
		})
	}
	// A connection that ends while the tracks are looked for is an error.
	if _, _, err := findTracks(&metaConn{Conn: &scriptConn{msgs: []message.Message{meta(video, audio), videoHeader}}}); err == nil {
		t.Error("findTracks on a connection that ended early: no error")
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
