// Package thumbnail makes the live thumbnail of every live channel: an output of the session
// that, every Config.Every (30 s), takes the next keyframe of the source, has ffmpeg decode it
// into a JPEG and stores it in the recordings storage under recordings.ThumbnailKey, where any
// node serves it (a bucket in a cluster).
//
// It watches the session's units through a tap (streams.View.Tap), called by the session's own
// goroutine: a unit costs it a look at its kind, and a keyframe when one is due (every 30 s) a
// copy handed to a goroutine of its own that decodes it. A reader of its own, as it had, woke
// that goroutine for every unit (about 80 a second) to keep one keyframe in 900. The decoding
// takes one keyframe at a time: a slow ffmpeg or store costs it keyframes (the next one is
// taken instead), never the publisher a wait.
//
// Why ffmpeg and not Go: the standard library has no H.264 decoder, and the maintained pure-Go
// ones are far from complete (no CABAC, no High profile), which is what encoders send. One
// keyframe with its SPS/PPS, piped as Annex B into an ffmpeg that exits after one frame, costs
// about as much as a recording's poster (figures in README), twice a minute per stream.
package thumbnail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/streams"
)

// Config shapes the thumbnailer.
type Config struct {
	FFmpeg  string        // the program; empty: no thumbnails
	Every   time.Duration // a new thumbnail from the first keyframe this long after the last
	Width   int           // pixels; a smaller source keeps its own width
	Timeout time.Duration // bounds one ffmpeg run and one store write
}

// DefaultConfig is the thumbnailer's shape in production.
var DefaultConfig = Config{FFmpeg: "ffmpeg", Every: 30 * time.Second, Width: 640, Timeout: 10 * time.Second}

// Limits of one thumbnail: a keyframe larger than maxInput is skipped (the next is taken), and
// a JPEG larger than maxOutput is refused.
const (
	maxInput  = 8 << 20
	maxOutput = 2 << 20
)

// Thumbnailer is the output that makes live thumbnails.
type Thumbnailer struct {
	cfg   Config
	media Media
	log   *slog.Logger

	made   prometheus.Counter
	failed prometheus.Counter
	cpu    prometheus.Counter
	cpuNs  atomic.Int64 // what cpu counts, for benchmarks
}

// Media is where thumbnails are kept: the part of storage.Store the thumbnailer needs.
type Media interface {
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	Delete(ctx context.Context, key string) error
}

// New returns a thumbnailer writing into media.
func New(cfg Config, media Media, log *slog.Logger) *Thumbnailer {
	return &Thumbnailer{cfg: cfg, media: media, log: log,
		made:   prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_thumbnails_total", Help: "Live thumbnails made."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_thumbnail_failures_total", Help: "Live thumbnails that ffmpeg or the storage failed to make."}),
		cpu:    prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_thumbnail_cpu_seconds_total", Help: "CPU time (user and system) of the ffmpeg runs that made live thumbnails."}),
	}
}

// Register exposes the thumbnailer's metrics.
func (t *Thumbnailer) Register(reg prometheus.Registerer) { reg.MustRegister(t.made, t.failed, t.cpu) }

// Start implements streams.Output: every stream with video gets thumbnails, when ffmpeg is
// there.
func (t *Thumbnailer) Start(v *streams.View) streams.Run {
	if v.Tracks.H264 == nil || t.cfg.FFmpeg == "" {
		return nil
	}
	if _, err := exec.LookPath(t.cfg.FFmpeg); err != nil {
		return nil // no ffmpeg: no thumbnails (the transcoder says so at start-up)
	}
	// One keyframe waits at most, while the previous is decoded. The tap runs on the session's
	// goroutine, before the run's ctx ends, so the run closes work once no tap can send.
	work := make(chan []byte, 1)
	var next time.Time // the first keyframe at once
	v.Tap("thumbnail", func(u *stream.Unit) streams.Report {
		if u.Kind != stream.Video || !u.Key || len(work) == cap(work) {
			return streams.Report{}
		}
		now := time.Now()
		if now.Before(next) {
			return streams.Report{}
		}
		frame, err := annexB(v.Tracks.H264, u.Payload)
		if err != nil || len(frame) > maxInput {
			return streams.Report{}
		}
		work <- frame // never waits: the look above found room, and this tap is the only sender
		next = now.Add(t.cfg.Every)
		return streams.Report{}
	})
	return func(ctx context.Context, _ chan<- streams.Report) error {
		key := recordings.ThumbnailKey(v.Channel.ID)
		for done := false; !done; {
			select {
			case frame := <-work:
				if err := t.make(ctx, key, frame); err != nil && ctx.Err() == nil {
					t.failed.Inc()
					t.log.Warn("live thumbnail", "session", v.SessionID, "err", err)
				}
			case <-ctx.Done():
				done = true
			}
		}
		// The channel is offline: its thumbnail goes (the API serves none for an offline
		// channel either; this only tidies the storage).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.Timeout)
		defer cancel()
		_ = t.media.Delete(dctx, key)
		return nil
	}
}

// annexB is a keyframe as ffmpeg reads it from a pipe: start codes, and the track's SPS and
// PPS in front when the access unit does not carry its own.
func annexB(tr *stream.H264, au [][]byte) ([]byte, error) {
	hasSPS := false
	for _, n := range au {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			hasSPS = true
		}
	}
	if !hasSPS {
		au = append([][]byte{tr.SPS, tr.PPS}, au...)
	}
	return h264.AnnexB(au).Marshal()
}

// make decodes one keyframe into a JPEG and stores it under key.
func (t *Thumbnailer) make(ctx context.Context, key string, frame []byte) error {
	img, cpu, err := Decode(ctx, t.cfg.FFmpeg, frame, t.cfg.Width, t.cfg.Timeout)
	t.cpu.Add(cpu.Seconds())
	t.cpuNs.Add(int64(cpu))
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	if err := t.media.Put(pctx, key, bytes.NewReader(img), int64(len(img))); err != nil {
		return fmt.Errorf("storing: %w", err)
	}
	t.made.Inc()
	return nil
}

// Decode has ffmpeg decode the first frame of an Annex B H.264 stream into a JPEG at most
// width pixels wide, and returns it with the CPU time (user and system) ffmpeg spent.
func Decode(ctx context.Context, ffmpeg string, frame []byte, width int, timeout time.Duration) ([]byte, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "h264", "-i", "pipe:0",
		"-frames:v", "1", "-vf", fmt.Sprintf("scale='min(%d,iw)':-2", width), "-q:v", "5", "-f", "image2", "-c:v", "mjpeg", "pipe:1")
	cmd.Stdin = bytes.NewReader(frame)
	out := &capped{max: maxOutput}
	var stderr capped
	stderr.max = 4 << 10
	cmd.Stdout, cmd.Stderr = out, &stderr
	err := cmd.Run()
	var cpu time.Duration
	if cmd.ProcessState != nil {
		cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	switch {
	case err != nil:
		return nil, cpu, fmt.Errorf("ffmpeg: %v: %s", err, bytes.TrimSpace(stderr.buf.Bytes()))
	case out.over:
		return nil, cpu, fmt.Errorf("ffmpeg wrote more than %d bytes", maxOutput)
	case out.buf.Len() == 0:
		return nil, cpu, fmt.Errorf("ffmpeg decoded no frame: %s", bytes.TrimSpace(stderr.buf.Bytes()))
	}
	return out.buf.Bytes(), cpu, nil
}

// capped keeps at most max bytes of what is written to it, and says whether more came.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(b []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(b) > room {
		c.buf.Write(b[:max(room, 0)])
		c.over = true
		return len(b), nil
	}
	return c.buf.Write(b)
}
