package thumbnail

import (
	"bufio"
	"bytes"
	"context"
	"image"
	_ "image/jpeg"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	dto "github.com/prometheus/client_model/go"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/streams"
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

// A published stream gets a decodable JPEG at once, and a new one once the interval has
// passed; the thumbnail goes when the stream ends.
func TestLiveThumbnail(t *testing.T) {
	c := makeClip(t, "2")
	media := newMemMedia()
	cfg := DefaultConfig
	cfg.Every = time.Second
	cfg.Timeout = 60 * time.Second // a busy machine
	th := New(cfg, media, slog.New(slog.DiscardHandler))
	st := stream.New(stream.Tracks{H264: &stream.H264{SPS: c.sps, PPS: c.pps}})
	v := streams.NewView("st-test", streams.Channel{ID: "ch1", UserID: "u1"}, st)
	run := th.Start(v)
	if run == nil {
		t.Fatal("no thumbnails for a stream with video")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, make(chan streams.Report, 8)) }()

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
	st.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if media.get(key) != nil {
		t.Error("the thumbnail is still stored after the stream ended")
	}
	if got := counterValue(th.made); got < 2 {
		t.Errorf("livehouse_thumbnails_total = %v, want at least 2", got)
	}
}

// A stream that is too slow to decode (a stalled ffmpeg here) never holds up the session's
// fan-out: the publisher's writes return while the thumbnailer waits.
func TestNeverBlocksThePublisher(t *testing.T) {
	c := makeClip(t, "1")
	media := newMemMedia()
	cfg := DefaultConfig
	cfg.FFmpeg = "sleep" // "sleep -hide_banner …" fails at once; what matters is the fan-out
	cfg.Units = 4
	th := New(cfg, media, slog.New(slog.DiscardHandler))
	st := stream.New(stream.Tracks{H264: &stream.H264{SPS: c.sps, PPS: c.pps}})
	v := streams.NewView("st-test", streams.Channel{ID: "ch1", UserID: "u1"}, st)
	run := th.Start(v)
	// Not running the output at all: its reader's queue fills, and writes must still return.
	for i := 0; i < 10*len(c.units); i++ {
		st.Write(c.units[i%len(c.units)])
	}
	st.Close()
	if err := run(context.Background(), make(chan streams.Report, 8)); err != nil {
		t.Fatal(err)
	}
	if n := len(media.objects); n != 0 {
		t.Errorf("%d objects stored by a failing ffmpeg", n)
	}
	if got := counterValue(th.failed); got != 1 {
		t.Errorf("livehouse_thumbnail_failures_total = %v, want 1 (the one keyframe queued)", got)
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
