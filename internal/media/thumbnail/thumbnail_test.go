package thumbnail

import (
	"bufio"
	"bytes"
	"context"
	"image"
	_ "image/jpeg"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	dto "github.com/prometheus/client_model/go"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/streams"
	"github.com/livehouse/livehouse/internal/streams/streamstest"
)

// memMedia keeps what is put, and tells each put on puts.
type memMedia struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    chan string
}

func newMemMedia() *memMedia {
	return &memMedia{objects: map[string][]byte{}, puts: make(chan string, 64)}
}

func (m *memMedia) Put(_ context.Context, key string, r io.Reader, _ int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.objects[key] = b
	m.mu.Unlock()
	select {
	case m.puts <- key:
	default:
	}
	return nil
}

func (m *memMedia) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}

func (m *memMedia) get(key string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects[key]
}

// clip is a few seconds of H.264 from ffmpeg (1280x720, a keyframe every second), as the
// access units and times a publisher's stream carries.
type clip struct {
	sps, pps []byte
	units    []*stream.Unit
}

func makeClip(t testing.TB, seconds string) clip {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	ts, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-t", seconds, "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-f", "mpegts", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	r := &mpegts.Reader{R: bufio.NewReader(bytes.NewReader(ts))}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var c clip
	for _, tr := range r.Tracks() {
		if _, ok := tr.Codec.(*tscodecs.H264); !ok {
			continue
		}
		r.OnDataH264(tr, func(pts, _ int64, au [][]byte) error {
			key := h264.IsRandomAccess(au)
			for _, n := range au {
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeSPS:
					c.sps = n
				case h264.NALUTypePPS:
					c.pps = n
				}
			}
			c.units = append(c.units, &stream.Unit{Kind: stream.Video, PTS: time.Duration(pts) * time.Second / 90000, Payload: au, Key: key})
			return nil
		})
	}
	for r.Read() == nil {
	}
	if c.sps == nil || len(c.units) == 0 {
		t.Fatalf("ffmpeg's clip has no H.264 (%d units)", len(c.units))
	}
	return c
}

// live starts a session of channel ch1 on a streams service whose outputs are th and a
// counter of the units the session's taps saw; the returned encoder ends it.
func live(t *testing.T, th *Thumbnailer, c clip) (*stream.Stream, *streams.Encoder, *atomic.Int64) {
	t.Helper()
	var tapped atomic.Int64
	ch := streams.Channel{ID: "ch1", UserID: "u1", Type: "BASIC"}
	svc := streams.NewService(streams.Deps{Store: streamstest.New(ch), Log: slog.New(slog.DiscardHandler),
		Outputs: []streams.Output{th, tapCounter{&tapped}}})
	t.Cleanup(svc.Shutdown)
	st := stream.New(stream.Tracks{H264: &stream.H264{SPS: c.sps, PPS: c.pps}})
	enc, err := svc.Begin(context.Background(), &ch, st, func() {})
	if err != nil {
		t.Fatal(err)
	}
	return st, enc, &tapped
}

// tapCounter is an output that counts the units its tap is given.
type tapCounter struct{ n *atomic.Int64 }

func (c tapCounter) Start(v *streams.View) streams.Run {
	v.Tap("counter", func(*stream.Unit) streams.Report { c.n.Add(1); return streams.Report{} })
	return func(ctx context.Context, _ chan<- streams.Report) error { <-ctx.Done(); return nil }
}

// A published stream gets a decodable JPEG at once, and a new one once the interval has
// passed; the thumbnail goes when the stream ends.
func TestLiveThumbnail(t *testing.T) {
	c := makeClip(t, "2")
	media := newMemMedia()
	cfg := DefaultConfig
	cfg.Every = time.Second
	cfg.Timeout = 60 * time.Second // a busy machine
	th := New(cfg, media, slog.New(slog.DiscardHandler))
	st, enc, _ := live(t, th, c)

	// Publish at the clip's pace, looping it, until two thumbnails are stored.
	key := recordings.ThumbnailKey("ch1")
	frame := time.NewTicker(time.Second / 30)
	defer frame.Stop()
	deadline := time.After(2 * time.Minute)
	stored := 0
	for i := 0; stored < 2; i++ {
		select {
		case got := <-media.puts:
			if got != key {
				t.Fatalf("stored %q, want %q", got, key)
			}
			stored++
			img, format, err := image.Decode(bytes.NewReader(media.get(key)))
			if err != nil {
				t.Fatalf("thumbnail %d does not decode: %v", stored, err)
			}
			if b := img.Bounds(); format != "jpeg" || b.Dx() != 640 || b.Dy() != 360 {
				t.Fatalf("thumbnail %d: %s %dx%d, want a 640x360 jpeg", stored, format, b.Dx(), b.Dy())
			}
		case <-frame.C:
			u := *c.units[i%len(c.units)]
			u.PTS += time.Duration(i/len(c.units)) * 2 * time.Second
			st.Write(&u)
		case <-deadline:
			t.Fatalf("%d thumbnails stored in 2 minutes, want 2", stored)
		}
	}
	enc.End("the test is over") // returns once the session and its outputs have ended
	if media.get(key) != nil {
		t.Error("the thumbnail is still stored after the stream ended")
	}
	if got := counterValue(th.made); got < 2 {
		t.Errorf("livehouse_thumbnails_total = %v, want at least 2", got)
	}
}

// A decoder that never finishes (a stalled ffmpeg) never holds up the session: it is given
// one keyframe, the others pass by, every unit reaches the session's other taps, and the
// session ends at once, the stalled decoder with it.
func TestNeverBlocksThePublisher(t *testing.T) {
	c := makeClip(t, "1")
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	stall := filepath.Join(dir, "ffmpeg")
	if err := os.WriteFile(stall, []byte("#!/bin/sh\necho run >> "+runs+"\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	media := newMemMedia()
	cfg := DefaultConfig
	cfg.FFmpeg = stall
	cfg.Every = time.Nanosecond // every keyframe is due
	cfg.Timeout = 10 * time.Minute
	th := New(cfg, media, slog.New(slog.DiscardHandler))
	st, enc, tapped := live(t, th, c)
	n := 10 * len(c.units)
	for i := range n {
		u := *c.units[i%len(c.units)]
		u.PTS += time.Duration(i/len(c.units)) * time.Second
		st.Write(&u)
	}
	// The decoder starts on the first keyframe; the session goes on meanwhile.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) { // polling, not synchronisation
		if _, err := os.Stat(runs); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the decoder was not started within a minute")
		}
	}
	enc.End("the test is over")
	if got := tapped.Load(); got != int64(n) {
		t.Errorf("the session's taps saw %d units, want %d", got, n)
	}
	if b, _ := os.ReadFile(runs); string(b) != "run\n" {
		t.Errorf("the decoder was started %q, want once (one keyframe at a time)", b)
	}
	if len(media.objects) != 0 || counterValue(th.made) != 0 {
		t.Errorf("%d objects stored by a decoder that never finished", len(media.objects))
	}
}

func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// A keyframe without its own SPS and PPS gets the track's in front; one with them is kept as
// it is.
func TestAnnexB(t *testing.T) {
	tr := &stream.H264{SPS: []byte{0x67, 1}, PPS: []byte{0x68, 2}}
	for _, tc := range []struct {
		name string
		au   [][]byte
		want []byte
	}{
		{"without", [][]byte{{0x65, 3}}, []byte{0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 3}},
		{"with", [][]byte{{0x67, 9}, {0x68, 8}, {0x65, 3}}, []byte{0, 0, 0, 1, 0x67, 9, 0, 0, 0, 1, 0x68, 8, 0, 0, 0, 1, 0x65, 3}},
	} {
		got, err := annexB(tr, tc.au)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: annexB = %x, %v; want %x", tc.name, got, err, tc.want)
		}
	}
}
