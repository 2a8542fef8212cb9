// Package transcode is the adaptive-bitrate ladder of STANDARD channels: a reader of the live
// stream feeds one ffmpeg process per stream through a pipe (MPEG-TS on its stdin) and reads
// each transcoded rendition back from a pipe of its own (MPEG-TS on file descriptor 3
// onwards), handing the access units to the HLS packager. ffmpeg only encodes: packaging,
// timed metadata and metrics stay Livehouse's. A crashed or stalled ffmpeg is restarted; the
// source rendition plays on meanwhile.
package transcode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/media/hls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/safe"
	"github.com/livehouse/livehouse/internal/streams"
)

// Config is the transcoder's share of the settings.
type Config struct {
	FFmpeg     string        // the program: a path, or a name looked up on PATH
	Encoder    string        // x264 (default), vaapi, nvenc or qsv
	Preset     string        // x264 preset; veryfast by default
	Device     string        // VAAPI render node; /dev/dri/renderD128 by default
	StallAfter time.Duration // no rendition out for this long while the source flows: restart
}

// DefaultConfig uses Debian's ffmpeg from PATH and x264.
var DefaultConfig = Config{FFmpeg: "ffmpeg", Encoder: EncoderX264, Preset: "veryfast", StallAfter: 6 * time.Second}

// Packager is what the transcoder needs from the HLS output.
type Packager interface {
	SetLadder(channelID string, on bool) error
	AddRung(channelID, name string, audio *mpeg4audio.AudioSpecificConfig) (*hls.Rung, error)
}

// Transcoder is the stream output that runs the ladders.
type Transcoder struct {
	cfg Config
	pkg Packager
	log *slog.Logger

	restarts prometheus.Counter
	running  atomic.Int64
}

// New returns a transcoder writing its rungs into pkg (the recorder stores them from there);
// reg may be nil.
func New(cfg Config, pkg Packager, log *slog.Logger, reg prometheus.Registerer) *Transcoder {
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = DefaultConfig.StallAfter
	}
	t := &Transcoder{cfg: cfg, pkg: pkg, log: log,
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_transcoder_restarts_total", Help: "ffmpeg transcoders restarted after a crash or a stall."}),
	}
	if reg != nil {
		reg.MustRegister(t.restarts, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "livehouse_transcoders", Help: "ffmpeg transcoders running."},
			func() float64 { return float64(t.running.Load()) }))
	}
	return t
}

// Available reports whether ffmpeg can be found, with an error that says what to do if not.
func (t *Transcoder) Available() error {
	if _, err := exec.LookPath(t.cfg.FFmpeg); err != nil {
		return fmt.Errorf("ffmpeg (%q) was not found: STANDARD channels are served as BASIC, with a Stream Failure event, until it is installed or transcode.ffmpeg (LIVEHOUSE_TRANSCODE_FFMPEG) names it", t.cfg.FFmpeg)
	}
	return nil
}

// Start prepares a ladder for a STANDARD channel's stream (see streams.Output); other streams
// pass through untouched. The ladder's rungs join the source's packaging once the session
// reports it packaged (View.Packaged), whichever output started first. Failures the stream
// survives are reported to the session as Stream Failures.
func (t *Transcoder) Start(v *streams.View) streams.Run {
	h := v.Tracks.H264
	if !v.Channel.Transcoded() || h == nil {
		return nil
	}
	var sps h264.SPS
	if err := sps.Unmarshal(h.SPS); err != nil {
		return failed("transcoding: the video's SPS cannot be read, so the stream is served as BASIC")
	}
	rungs := Plan(sps.Width(), sps.Height())
	log := t.log.With("session", v.SessionID, "channel", v.Channel.ID)
	if len(rungs) == 0 {
		log.Info("no rendition below the source's size; the source plays alone", "width", sps.Width(), "height", sps.Height())
		return nil
	}
	path, err := exec.LookPath(t.cfg.FFmpeg)
	if err != nil {
		return failed(fmt.Sprintf("transcoding: ffmpeg (%q) was not found, so the stream is served as BASIC: install ffmpeg or set transcode.ffmpeg (LIVEHOUSE_TRANSCODE_FFMPEG)", t.cfg.FFmpeg))
	}
	r := v.NewReader("transcode", 512) // now, so that the ladder can start on the first keyframe
	return func(ctx context.Context, reports chan<- streams.Report) error {
		defer func() {
			if n := r.Dropped(); n > 0 {
				log.Warn("transcoder fell behind the source", "dropped_units", n)
			}
		}()
		defer v.RemoveReader(r)
		select {
		case <-v.Packaged():
		case <-ctx.Done():
			return nil
		}
		if err := t.pkg.SetLadder(v.Channel.ID, true); err != nil {
			log.Warn("transcoding: the stream is not packaged here", "err", err)
			return nil
		}
		s := &session{t: t, v: v, reports: reports, log: log, path: path, args: Args(t.cfg, rungs, sps.Height() > sps.Width(), NominalFPS(sps.FPS())), rungs: rungs,
			out: make([]*hls.Rung, len(rungs)), ended: make(chan struct{})}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); defer safe.Recover(s.log, "transcode feed"); s.feed(r) }()
		go func() { defer wg.Done(); defer safe.Recover(s.log, "transcode supervisor"); s.supervise(ctx) }()
		<-ctx.Done()
		v.RemoveReader(r) // the feed ends with the session's stream, or here
		wg.Wait()
		for _, o := range s.out {
			if o != nil {
				o.Close()
			}
		}
		return nil
	}
}

// failed is the run of a ladder that cannot be: it reports why, and the source plays alone.
func failed(reason string) streams.Run {
	return func(ctx context.Context, reports chan<- streams.Report) error {
		streams.Send(ctx, reports, streams.Report{Kind: streams.ReportFailure, Reason: reason})
		return nil
	}
}

// session is one live stream's ladder.
type session struct {
	t       *Transcoder
	v       *streams.View
	reports chan<- streams.Report
	log     *slog.Logger
	path    string
	args    []string
	rungs   []Rung

	ended chan struct{} // closed when the source ends: ffmpeg then stops for good

	mu  sync.Mutex
	cur *proc
	out []*hls.Rung // the packager's rungs, made on the first run, kept across restarts
}

func (s *session) current() *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Timestamps on ffmpeg's pipes: the source's media time plus tsBase (so that decode times
// are never negative), in 33-bit MPEG-TS ticks.
const (
	tsBase = 10 * 90000
	tsMask = 1<<33 - 1
)

// proc is one run of ffmpeg.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	// The writer's state; used by the feeding goroutine only.
	w      *mpegts.Writer
	vt, at *mpegts.Track
	dts    h264.DTSExtractor
	synced bool
	broken bool

	lastIn    atomic.Int64 // source ticks (without tsBase) of the newest video written
	lastInAt  atomic.Int64 // wall clock of the newest write, unix ns
	writing   atomic.Bool  // a write is in progress (blocked, if ffmpeg does not read)
	lastOutAt atomic.Int64 // wall clock of the newest rendition unit read, unix ns
	produced  atomic.Bool
	stderr    tail
}

// feed writes the source's units to the running ffmpeg, starting each run on a keyframe. A
// slow or dead ffmpeg only costs this reader units, never the publisher.
func (s *session) feed(r *stream.Reader) {
	defer close(s.ended)
	for u := range r.C {
		p := s.current()
		if p == nil || p.broken {
			continue
		}
		p.writing.Store(true)
		err := p.write(s.v.Tracks, u)
		p.writing.Store(false)
		if err != nil {
			p.broken = true
			s.log.Debug("transcoder input closed", "err", err)
		}
	}
}

func (p *proc) write(tracks stream.Tracks, u *stream.Unit) error {
	if p.w == nil {
		p.vt = &mpegts.Track{Codec: &tscodecs.H264{}}
		ts := []*mpegts.Track{p.vt}
		switch {
		case tracks.AAC != nil:
			p.at = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: *tracks.AAC}}
		case tracks.Opus != nil: // from WebRTC; ffmpeg transcodes it to AAC for the lowest rung
			p.at = &mpegts.Track{Codec: &tscodecs.Opus{Desc: &substructs.OpusAudioDescriptor{ChannelConfigCode: uint8(tracks.Opus.ChannelCount)}}}
		}
		if p.at != nil {
			ts = append(ts, p.at)
		}
		p.w = &mpegts.Writer{W: bufio.NewWriterSize(p.stdin, 64<<10), Tracks: ts}
		if err := p.w.Initialize(); err != nil {
			return err
		}
	}
	pts := u.PTS.Nanoseconds() * 90000 / int64(time.Second)
	var err error
	switch u.Kind {
	case stream.Video:
		if !p.synced {
			if !u.Key {
				return nil
			}
			p.synced = true
			p.dts.Initialize()
		}
		var dts int64
		if dts, err = p.dts.Extract(u.Payload, pts); err != nil {
			return err
		}
		err = p.w.WriteH264(p.vt, (pts+tsBase)&tsMask, (dts+tsBase)&tsMask, u.Payload)
		p.lastIn.Store(pts)
	case stream.Audio:
		if !p.synced || p.at == nil {
			return nil
		}
		if _, opus := p.at.Codec.(*tscodecs.Opus); opus {
			err = p.w.WriteOpus(p.at, (pts+tsBase)&tsMask, u.Payload)
		} else {
			err = p.w.WriteMPEG4Audio(p.at, (pts+tsBase)&tsMask, u.Payload)
		}
	}
	if err != nil {
		return err
	}
	p.lastInAt.Store(time.Now().UnixNano())
	return p.w.W.(*bufio.Writer).Flush()
}

// sourceTicks maps a timestamp read back from ffmpeg to the source's media time: it is at or
// a little before the newest written, whatever the 33-bit wraps.
func (p *proc) sourceTicks(raw int64) int64 {
	in := p.lastIn.Load()
	behind := ((in+tsBase)&tsMask - raw) & tsMask
	if behind > tsMask/2 { // ahead of the input: cannot be, but keep it monotonic
		behind -= tsMask + 1
	}
	return in - behind
}

// supervise runs ffmpeg until ctx ends, restarting it after a crash or a stall with a
// back-off that resets once a run has lasted.
func (s *session) supervise(ctx context.Context) {
	backoff := 500 * time.Millisecond
	reported := false
	for first := true; ; first = false {
		if !first {
			s.t.restarts.Inc()
		}
		began := time.Now()
		produced, err := s.runOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.ended: // ffmpeg finished the input
			return
		default:
		}
		if !produced && !reported {
			// A run that never produced a rendition (a bad encoder setting, a broken ffmpeg):
			// the streamer sees it among the session's events, once.
			reported = true
			// The session cuts the text to streams.MaxReasonBytes on a character boundary.
			streams.Send(ctx, s.reports, streams.Report{Kind: streams.ReportFailure,
				Reason: "transcoding: ffmpeg produced no rendition, so the source plays alone while it is restarted: " + fmt.Sprint(err)})
		}
		if time.Since(began) > time.Minute {
			backoff = 500 * time.Millisecond
		}
		s.log.Warn("transcoder stopped; restarting it, the source rendition plays on", "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-s.ended:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// errStalled ends a run whose ffmpeg produced nothing for StallAfter while fed.
var errStalled = errors.New("ffmpeg stalled")

// runOnce runs ffmpeg until it exits, stalls or ctx ends, and reports whether it produced
// any rendition.
func (s *session) runOnce(ctx context.Context) (bool, error) {
	cmd := exec.Command(s.path, s.args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return false, err
	}
	p := &proc{cmd: cmd, stdin: stdin}
	cmd.Stderr = &p.stderr
	readers := make([]*os.File, len(s.rungs))
	for i := range s.rungs {
		rd, wr, err := os.Pipe()
		if err != nil {
			return false, err
		}
		readers[i] = rd
		cmd.ExtraFiles = append(cmd.ExtraFiles, wr)
	}
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			f.Close()
		}
	}
	if err := cmd.Start(); err != nil {
		closeAll(readers)
		closeAll(cmd.ExtraFiles)
		return false, fmt.Errorf("starting ffmpeg: %w", err)
	}
	closeAll(cmd.ExtraFiles) // ffmpeg holds the write ends now
	s.t.running.Add(1)
	defer s.t.running.Add(-1)
	p.lastOutAt.Store(time.Now().UnixNano())
	s.log.Info("transcoder started", "pid", cmd.Process.Pid, "renditions", len(s.rungs))

	var wg sync.WaitGroup
	for i := range s.rungs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer readers[i].Close()
			defer safe.Recover(s.log, "transcode rendition reader")
			err := s.read(p, i, readers[i]) // returns when the pipe closes
			if ctx.Err() == nil {
				s.log.Debug("rendition pipe ended", "rendition", s.rungs[i].Name, "err", err)
			}
		}()
	}
	s.mu.Lock()
	s.cur = p
	s.mu.Unlock()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(s.t.cfg.StallAfter / 4)
	defer tick.Stop()
	var why error
wait:
	for {
		select {
		case err := <-exited:
			why = fmt.Errorf("ffmpeg exited: %v: %s", err, p.stderr.String())
			break wait
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			break wait
		case <-tick.C:
			now := time.Now().UnixNano()
			fed := p.writing.Load() || now-p.lastInAt.Load() < int64(s.t.cfg.StallAfter)
			if fed && now-p.lastOutAt.Load() > int64(s.t.cfg.StallAfter) {
				why = fmt.Errorf("%w: no rendition for %s", errStalled, s.t.cfg.StallAfter)
				_ = cmd.Process.Kill()
				<-exited
				break wait
			}
		}
	}
	s.mu.Lock()
	s.cur = nil
	s.mu.Unlock()
	stdin.Close()
	wg.Wait()
	for _, o := range s.out {
		if o != nil {
			o.Resync()
		}
	}
	return p.produced.Load(), why
}

// read hands one rendition's access units to its rung, which it adds to the ladder on the
// first run, until the pipe closes.
func (s *session) read(p *proc, i int, f io.Reader) error {
	r := &mpegts.Reader{R: bufio.NewReaderSize(f, 64<<10)}
	if err := r.Initialize(); err != nil {
		return err
	}
	var video, audio *mpegts.Track
	for _, tr := range r.Tracks() {
		switch tr.Codec.(type) {
		case *tscodecs.H264:
			video = tr
		case *tscodecs.MPEG4Audio:
			audio = tr
		}
	}
	if video == nil {
		return fmt.Errorf("rendition %s: no H.264 track", s.rungs[i].Name)
	}
	s.mu.Lock()
	out := s.out[i]
	if out == nil {
		var cfg *mpeg4audio.AudioSpecificConfig
		if audio != nil {
			c := audio.Codec.(*tscodecs.MPEG4Audio).Config
			cfg = &c
		}
		var err error
		if out, err = s.t.pkg.AddRung(s.v.Channel.ID, s.rungs[i].Name, cfg); err != nil {
			s.mu.Unlock()
			return err
		}
		s.out[i] = out
	}
	s.mu.Unlock()
	r.OnDecodeError(func(err error) { s.log.Debug("rendition decode", "rendition", out.Name, "err", err) })
	r.OnDataH264(video, func(pts, _ int64, au [][]byte) error {
		p.lastOutAt.Store(time.Now().UnixNano())
		p.produced.Store(true)
		ticks := p.sourceTicks(pts)
		if err := out.WriteVideo(ticks, au); err != nil && !errors.Is(err, hls.ErrNotLive) {
			s.log.Warn("rendition write", "rendition", out.Name, "err", err)
		}
		return nil
	})
	if audio != nil {
		r.OnDataMPEG4Audio(audio, func(pts int64, aus [][]byte) error {
			p.lastOutAt.Store(time.Now().UnixNano())
			if err := out.WriteAudio(p.sourceTicks(pts), aus); err != nil {
				s.log.Warn("rendition write", "rendition", out.Name, "err", err)
			}
			return nil
		})
	}
	for {
		if err := r.Read(); err != nil {
			return err
		}
	}
}

// tail keeps the last lines ffmpeg wrote on stderr, for the log when it stops.
type tail struct {
	mu    sync.Mutex
	lines []string
	part  string
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(t.part+string(b), "\n")
	t.part = lines[len(lines)-1]
	t.lines = append(t.lines, lines[:len(lines)-1]...)
	if len(t.lines) > 8 {
		t.lines = t.lines[len(t.lines)-8:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(append(t.lines, t.part), " | ")
}
