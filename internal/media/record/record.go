// Package record is the recorder: an output of every live session that writes the source
// rendition as fMP4 (CMAF) segments cut on keyframes, with their init sections, into the
// recordings storage, and the VOD playlists when the session ends.
//
// It reads the session's fan-out through a bounded queue of its own, like the other outputs,
// so it never slows the publisher. It packages with its own llhls muxer (the same fMP4
// writing as the live output; a new SPS starts a segment after a discontinuity, under a new
// init section) and hands each complete segment to a writer goroutine through a bounded
// queue: when the store is slower than the stream, segments are dropped, counted, and the
// session gets a Recording Segments Dropped event, rather than media piling up in memory.
//
// When the session ends, the recording is finished (the segments still queued stored, the
// playlists and poster written, the recording's end on record) by a goroutine of the
// Recorder's, not the session's: the session ends at once and the channel is free for its
// next one. Recorder.Run waits for the finishing in progress at shutdown.
package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/media/cues"
	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
)

// Config shapes the recorder.
type Config struct {
	// SegmentDuration: a keyframe at least this far into a segment begins the next. Longer
	// than the live output's 2 s: half the objects to store, and VOD players do not need
	// short ones.
	SegmentDuration time.Duration
	// Queue is how many segments may wait for the store; more are dropped.
	Queue int
	// PutTimeout bounds one object's write.
	PutTimeout time.Duration
	// DropEventEvery: at most one Recording Segments Dropped event per this long.
	DropEventEvery time.Duration
	// FFmpeg makes each recording's poster; empty: none.
	FFmpeg string
	// Units is the recorder's queue of the session's fan-out, in units: seconds of a 60 fps
	// stream with audio. Packaging is quick; the store is behind a queue of its own.
	Units int
	// FinishGrace: at shutdown, how long Run waits for the recordings being finished before
	// it cuts them short (they are finished from storage at the next start, as after a crash).
	FinishGrace time.Duration
	// Batch is how often the recorder takes the units queued for it. Between two batches it
	// does not wait on its queue, so the publisher's units do not wake it: a 30 fps stream
	// with AAC sends about 80 units a second, and a wake-up each was a fifth of what
	// recording cost in CPU (profile of 10 streams, README "Recording"). 0: every unit.
	Batch time.Duration
}

// DefaultConfig is the recorder's shape in production.
var DefaultConfig = Config{SegmentDuration: 4 * time.Second, Queue: 8, PutTimeout: 30 * time.Second, DropEventEvery: 30 * time.Second, Units: 1024,
	FinishGrace: 20 * time.Second, Batch: 250 * time.Millisecond}

// Recordings is what the recorder needs of the recordings domain.
type Recordings interface {
	ShouldRecord(ctx context.Context, channelID, userID string) (bool, error)
	Begin(ctx context.Context, sessionID, channelID, userID string, at time.Time) (*recordings.Recording, error)
	End(ctx context.Context, id string, p recordings.Progress) error
	AddChat(ctx context.Context, recordingID string, l recordings.ChatLine) error
	RemoveChat(ctx context.Context, recordingID, messageID, senderID string) error
}

// Events writes a recording's Recording Start and Recording End on its session, also once
// the session has ended (a recording is finished after it).
type Events interface {
	RecordingEvent(ctx context.Context, sessionID, channelID, name, detail string)
}

// Recorder records every live session whose channel records.
type Recorder struct {
	cfg    Config
	recs   Recordings
	media  storage.Store
	events Events // may be nil
	log    *slog.Logger

	// The recordings being finished after their session: goroutines of the Recorder's,
	// waited for by Run. Once Run has stopped, a session ending finishes its own.
	finishing sync.WaitGroup
	stopped   bool          // guarded by mu
	quit      chan struct{} // closed when Run stops waiting: cuts what is still finishing

	active  atomic.Int64
	dropped prometheus.Counter
	written prometheus.Counter
	bytes   atomic.Int64 // what written counts, for benchmarks

	mu    sync.Mutex
	cues  map[string]*cues.Timeline // by channel id, of the sessions being recorded
	live  map[string]*session       // by channel id, the same sessions
	owned map[string]bool           // recordings being written or finished here, by id

	chat        chan chatOp // chat replay writes, done by Run
	chatDropped prometheus.Counter
}

// chatOp is a write of a recording's chat replay: a line to keep, or lines to remove.
type chatOp struct {
	recordingID string
	line        *recordings.ChatLine
	messageID   string // to remove
	senderID    string // whose lines to remove
}

// chatQueue bounds the chat replay writes waiting for the store; more are dropped, counted.
const chatQueue = 512

// New returns a recorder writing into media and its events through events (nil: none).
func New(cfg Config, recs Recordings, media storage.Store, events Events, log *slog.Logger) *Recorder {
	return &Recorder{cfg: cfg, recs: recs, media: media, events: events, log: log, cues: map[string]*cues.Timeline{}, live: map[string]*session{}, owned: map[string]bool{}, quit: make(chan struct{}),
		chat:        make(chan chatOp, chatQueue),
		chatDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_recording_chat_dropped_total", Help: "Chat lines not kept with a recording: the database was too slow."}),
		dropped:     prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_recording_segments_dropped_total", Help: "Recorded segments dropped because the recordings storage was too slow."}),
		written:     prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_recording_bytes_total", Help: "Bytes of recorded media written to the recordings storage."}),
	}
}

// Register exposes the recorder's metrics.
func (r *Recorder) Register(reg prometheus.Registerer) {
	reg.MustRegister(r.dropped, r.written, r.chatDropped, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "livehouse_recordings", Help: "Sessions being recorded on this node."},
		func() float64 { return float64(r.active.Load()) }))
}

// Run runs until ctx ends, then waits for the recordings being finished: at most
// FinishGrace, after which their storage writes are cancelled (what is left unfinished is
// finished from storage by the next start, as after a crash).
func (r *Recorder) Run(ctx context.Context) error {
	for done := false; !done; {
		select {
		case op := <-r.chat:
			r.writeChat(ctx, op)
		case <-ctx.Done():
			done = true
		}
	}
	for drained := false; !drained; { // what was queued before the end, under a fresh deadline
		select {
		case op := <-r.chat:
			r.writeChat(context.WithoutCancel(ctx), op)
		default:
			drained = true
		}
	}
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.finishing.Wait()
		close(done)
	}()
	t := time.NewTimer(r.cfg.FinishGrace)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	}
	r.log.Warn("recordings still being finished at shutdown are cut short; the next start finishes them", "waited", r.cfg.FinishGrace)
	close(r.quit)
	<-done
	return nil
}

// PutChat keeps a chat message of the channel with its recording, if it is being recorded
// here, at its offset from the recording's first frame. It never waits: a line the queue
// has no room for is dropped, counted.
func (r *Recorder) PutChat(channelID string, l recordings.ChatLine) {
	r.mu.Lock()
	s := r.live[channelID]
	r.mu.Unlock()
	if s == nil || s.chatLines.Add(1) > recordings.MaxChatLines {
		return
	}
	first := s.firstFrame.Load()
	if first == 0 {
		l.Offset = 0
	} else {
		l.Offset = max(time.Since(time.Unix(0, first)), 0)
	}
	r.queueChat(chatOp{recordingID: s.rec.ID, line: &l})
}

// RemoveChat removes a chat message (messageID) or every line of a user (senderID) from the
// channel's recording being made here.
func (r *Recorder) RemoveChat(channelID, messageID, senderID string) {
	r.mu.Lock()
	s := r.live[channelID]
	r.mu.Unlock()
	if s != nil {
		r.queueChat(chatOp{recordingID: s.rec.ID, messageID: messageID, senderID: senderID})
	}
}

func (r *Recorder) queueChat(op chatOp) {
	select {
	case r.chat <- op:
	default:
		r.chatDropped.Inc()
	}
}

func (r *Recorder) writeChat(ctx context.Context, op chatOp) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if op.line != nil {
		err = r.recs.AddChat(ctx, op.recordingID, *op.line)
	} else {
		err = r.recs.RemoveChat(ctx, op.recordingID, op.messageID, op.senderID)
	}
	if err != nil {
		r.chatDropped.Inc()
		r.log.Warn("recording: keeping the chat", "recording", op.recordingID, "err", err)
	}
}

// Finishing reports whether the recording is being written or finished by this recorder
// (so that the janitor leaves it alone).
func (r *Recorder) Finishing(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owned[id]
}

// handOff has finish run in a goroutine of the Recorder's, or right here once Run has stopped.
func (r *Recorder) handOff(finish func()) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		finish()
		return
	}
	r.finishing.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.finishing.Done()
		finish()
	}()
}

// workContext is the context of work that outlives its session (storing the last segments,
// finishing the recording): cancelled only when Run gives up waiting for it.
func (r *Recorder) workContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-r.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// event writes a recording's event on its session.
func (r *Recorder) event(ctx context.Context, rec *recordings.Recording, name string, detail map[string]any) {
	if r.events == nil {
		return
	}
	b, _ := json.Marshal(detail)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r.events.RecordingEvent(ctx, rec.ID, rec.ChannelID, name, string(b))
}

// writtenBytes is how many bytes of segments the recorder has stored.
func (r *Recorder) writtenBytes() int64 { return r.bytes.Load() }

// PutCue records a stream action into the channel's recording, if it is being recorded, at
// the media time of its next video frame (as the live output stamps it).
func (r *Recorder) PutCue(channelID string, c Cue) {
	r.mu.Lock()
	tl := r.cues[channelID]
	r.mu.Unlock()
	if tl != nil {
		tl.Put(c)
	}
}

// Start implements streams.Output: it takes a reader of the session's units before the first
// is written; whether the channel records is asked in Run.
func (r *Recorder) Start(v *streams.View) streams.Run {
	if v.Tracks.H264 == nil {
		return nil
	}
	rd := v.NewReader("recorder", r.cfg.Units)
	return func(ctx context.Context, reports chan<- streams.Report) error {
		return r.run(ctx, v, rd, reports)
	}
}

func (r *Recorder) run(ctx context.Context, v *streams.View, rd *stream.Reader, reports chan<- streams.Report) error {
	askCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	on, err := r.recs.ShouldRecord(askCtx, v.Channel.ID, v.Channel.UserID)
	cancel()
	if errors.Is(err, recordings.ErrQuota) {
		v.RemoveReader(rd)
		streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": err.Error()}))
		return nil
	}
	if err != nil || !on {
		v.RemoveReader(rd)
		if err != nil && ctx.Err() == nil {
			r.log.Error("recording: asking whether the channel records", "session", v.SessionID, "err", err)
			streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": "the database did not answer"}))
		}
		return nil
	}
	rec, err := r.recs.Begin(context.WithoutCancel(ctx), v.SessionID, v.Channel.ID, v.Channel.UserID, time.Now())
	if err != nil {
		v.RemoveReader(rd)
		r.log.Error("recording: beginning", "session", v.SessionID, "err", err)
		streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": "the recording could not be created"}))
		return nil
	}
	s, err := r.newSession(v, rec)
	if err != nil {
		v.RemoveReader(rd)
		streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": "the recordings storage did not take the recording's first file"}))
		return nil
	}
	r.active.Add(1)
	r.mu.Lock()
	r.cues[v.Channel.ID] = s.cues
	r.live[v.Channel.ID] = s
	r.owned[rec.ID] = true
	r.mu.Unlock()
	// The writer outlives the session when the store is behind: the finishing waits for it.
	wctx, wcancel := r.workContext()
	written := make(chan struct{})
	go func() {
		defer close(written)
		s.write(ctx, wctx)
	}()
	s.read(ctx, rd, reports)
	r.mu.Lock()
	if r.cues[v.Channel.ID] == s.cues {
		delete(r.cues, v.Channel.ID)
		delete(r.live, v.Channel.ID)
	}
	r.mu.Unlock()
	// The session is over: the rest is the Recorder's, and the session ends now.
	r.handOff(func() {
		defer wcancel()
		defer r.active.Add(-1)
		s.mux.Close()
		s.collect(ctx, nil, true) // the session no longer reads reports; a final collect sends none
		s.mux.Free()              // the queued segments hold their own bytes
		s.closeRungs()
		close(s.jobs)
		<-written
		if n := rd.Dropped(); n > 0 {
			r.log.Warn("recorder fell behind its stream", "session", v.SessionID, "dropped_units", n)
		}
		r.finish(wctx, s)
		r.mu.Lock()
		delete(r.owned, rec.ID)
		r.mu.Unlock()
	})
	return nil
}

// finish writes the playlists and the recording's end, and its Recording End event.
func (r *Recorder) finish(ctx context.Context, s *session) {
	fctx, cancel := context.WithTimeout(ctx, 2*r.cfg.PutTimeout)
	defer cancel()
	p, err := Store{Media: r.media, FFmpeg: r.cfg.FFmpeg}.Finish(fctx, s.rec.Prefix)
	p.Dropped = int(atomic.LoadInt64(&s.droppedTotal))
	if err != nil {
		r.log.Error("recording: writing the playlists", "session", s.rec.ID, "err", err)
	}
	if err := r.recs.End(fctx, s.rec.ID, p); err != nil {
		r.log.Error("recording: ending", "session", s.rec.ID, "err", err)
	}
	detail := map[string]any{"recording_duration_ms": p.Duration.Milliseconds(), "recording_s3_key_prefix": s.rec.Prefix}
	if p.Dropped > 0 {
		detail["recording_segments_dropped"] = p.Dropped
	}
	name := streams.EventRecordingEnd
	if err != nil {
		name = "Recording End Failure"
		detail["recording_status_reason"] = "the playlists could not be written"
	}
	if p.Segments == 0 && !s.started.Load() && err == nil {
		return // nothing was recorded (the recording is removed): no events
	}
	r.event(ctx, s.rec, name, detail)
}

func recordingReport(name string, detail map[string]any) streams.Report {
	b, _ := json.Marshal(detail)
	return streams.Report{Kind: streams.ReportRecording, Event: name, Detail: string(b)}
}

// session is one session's recording in progress.
type session struct {
	r     *Recorder
	rec   *recordings.Recording
	mux   *llhls.Muxer
	cues  *cues.Timeline
	opus  bool
	last  map[string]int64        // per track: the newest segment handed on
	inits map[string]map[int]bool // per track: init sections stored (by the writer)
	jobs  chan job

	mu           sync.Mutex // guards inits, shared with the writer
	dropped      int        // since the last event
	droppedTotal int64
	lastDropEv   time.Time
	started      atomic.Bool // Recording Start was written

	firstFrame atomic.Int64 // when its first video frame came (Unix ns): chat offsets start there
	chatLines  atomic.Int64 // chat lines kept

	meta        Meta // the tracks as meta.json has them: the source's, then the rungs stored (the writer's)
	rungMu      sync.Mutex
	rungs       []*Rung // a STANDARD channel's ladder, recorded beside the source
	rungsClosed bool
}

// job is one segment to store, with the init section it needs if that is not stored yet.
type job struct {
	track string
	key   string
	seg   llhls.Segment // its bytes are the muxer's, held until the job is stored or dropped
	size  int
	init  []byte
	initN int
	rung  *TrackMeta // a rung's segment: the rung, for meta.json before its first segment
}

func (r *Recorder) newSession(v *streams.View, rec *recordings.Recording) (*session, error) {
	t := llhls.Tracks{SPS: v.Tracks.H264.SPS, PPS: v.Tracks.H264.PPS, AAC: v.Tracks.AAC}
	if v.Tracks.Opus != nil && t.AAC == nil {
		t.OpusChannels = v.Tracks.Opus.ChannelCount
	}
	tl := &cues.Timeline{}
	// A window of one segment: the recorder collects after every unit, and each segment
	// handed on holds its own bytes, so a longer window only held memory (two 4 s segments,
	// about 3 MB a 3 Mbps stream).
	mux, err := llhls.New(llhls.Config{SegmentMinDuration: r.cfg.SegmentDuration, PartTarget: r.cfg.SegmentDuration, SegmentCount: 1, Uncounted: true,
		Metadata: tl.Announcements}, t)
	if err != nil {
		r.log.Error("recording: muxer", "session", v.SessionID, "err", err)
		return nil, err
	}
	s := &session{r: r, rec: rec, mux: mux, cues: tl, opus: t.OpusChannels > 0, last: map[string]int64{}, inits: map[string]map[int]bool{},
		jobs: make(chan job, r.cfg.Queue)}
	meta := Meta{}
	for _, name := range mux.Tracks() {
		s.last[name] = -1
		s.inits[name] = map[int]bool{}
		tm := TrackMeta{Name: name, Kind: "audio", Codec: mux.Codec(name)}
		if name == mux.Tracks()[0] && v.Tracks.H264 != nil {
			tm.Kind = "video"
			var sps h264.SPS
			if sps.Unmarshal(v.Tracks.H264.SPS) == nil {
				tm.Width, tm.Height, tm.FPS = sps.Width(), sps.Height(), sps.FPS()
			}
		}
		meta.Tracks = append(meta.Tracks, tm)
	}
	s.meta = meta
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.PutTimeout)
	defer cancel()
	if err := putMeta(ctx, r.media, rec.Prefix, meta); err != nil {
		r.log.Error("recording: writing its description", "session", v.SessionID, "err", err)
		return nil, err
	}
	return s, nil
}

// read packages the session's units until its queue closes (the session has ended, and the
// units queued are done). It takes them in batches, every Config.Batch: a Units queue of 1,024
// holds several seconds of a stream, far more than a batch. The segments completed are
// collected after each unit, since a batch can be longer than the muxer's window.
func (s *session) read(ctx context.Context, rd *stream.Reader, reports chan<- streams.Report) {
	if s.r.cfg.Batch <= 0 {
		for u := range rd.C {
			s.unit(u)
			s.collect(ctx, reports, false)
		}
		return
	}
	tick := time.NewTicker(s.r.cfg.Batch)
	defer tick.Stop()
	for {
		for more := true; more; {
			select {
			case u, ok := <-rd.C:
				if !ok {
					return
				}
				s.unit(u)
				s.collect(ctx, reports, false)
			default:
				more = false
			}
		}
		<-tick.C
	}
}

// unit packages one unit. Errors (a malformed access unit) lose that unit only.
func (s *session) unit(u *stream.Unit) {
	pts := u.PTS.Nanoseconds() / 1000 * llhls.VideoClock / 1_000_000
	switch {
	case u.Kind == stream.Video:
		if s.firstFrame.Load() == 0 {
			s.firstFrame.Store(time.Now().UnixNano())
		}
		s.cues.Stamp(pts, u.NTP)
		_ = s.mux.WriteH264(pts, u.NTP, u.Payload)
	case u.Kind == stream.Audio && s.opus && len(u.Payload) > 0:
		_ = s.mux.WriteOpus(pts, u.NTP, u.Payload[0])
	case u.Kind == stream.Audio:
		_ = s.mux.WriteAAC(pts, u.NTP, u.Payload...)
	}
}

// collect hands the segments completed since the last call to the writer. Live, a full
// queue drops the segment; at the end (final) the recorder waits for room, the publisher
// being gone.
func (s *session) collect(ctx context.Context, reports chan<- streams.Report, final bool) {
	for _, track := range s.mux.Tracks() {
		for _, seg := range s.mux.SegmentsAfter(track, s.last[track]) {
			s.last[track] = int64(seg.MSN)
			j := job{track: track, key: s.rec.Prefix + track + "/" + segmentName(seg.MSN, seg.Start, seg.Duration, seg.Scale, seg.Init, seg.Disc),
				seg: seg, size: seg.Size(), initN: seg.Init}
			s.mu.Lock()
			if !s.inits[track][seg.Init] {
				j.init = s.mux.InitSection(track, seg.Init)
			}
			s.mu.Unlock()
			if final { // the publisher is gone: wait for room, a while
				t := time.NewTimer(s.r.cfg.PutTimeout)
				select {
				case s.jobs <- j:
				case <-t.C:
					j.seg.Release()
					s.r.dropped.Inc()
					atomic.AddInt64(&s.droppedTotal, 1)
				}
				t.Stop()
				continue
			}
			select {
			case s.jobs <- j:
			default:
				j.seg.Release()
				s.drop(ctx, reports)
			}
		}
	}
}

// drop counts a segment the store had no room for, with an event at most every
// DropEventEvery.
func (s *session) drop(ctx context.Context, reports chan<- streams.Report) {
	s.r.dropped.Inc()
	s.dropped++
	atomic.AddInt64(&s.droppedTotal, 1)
	if time.Since(s.lastDropEv) < s.r.cfg.DropEventEvery {
		return
	}
	s.lastDropEv = time.Now()
	n := s.dropped
	s.dropped = 0
	s.r.log.Warn("recording: storage too slow, segments dropped", "session", s.rec.ID, "segments", n)
	select { // never wait on the session here
	case reports <- recordingReport(streams.EventRecordingDropped, map[string]any{"recording_status_reason": "the recordings storage was too slow", "recording_segments_dropped": n}):
	default:
	}
}

// write stores the queued segments in order, in a goroutine of the recorder's run that the
// finishing waits for. ctx is the session's; the writes are made under wctx, which outlives it.
func (s *session) write(ctx, wctx context.Context) {
	r := s.r
	failed := false // a write failed after the session ended: the rest is dropped, not tried
	for j := range s.jobs {
		if failed && ctx.Err() != nil {
			j.seg.Release()
			r.dropped.Inc()
			atomic.AddInt64(&s.droppedTotal, 1)
			continue
		}
		pctx, cancel := context.WithTimeout(wctx, r.cfg.PutTimeout)
		var err error
		if j.rung != nil && !slices.ContainsFunc(s.meta.Tracks, func(t TrackMeta) bool { return t.Name == j.rung.Name }) {
			err = s.describe(pctx, *j.rung)
		}
		if err == nil && j.init != nil {
			err = put(pctx, r.media, s.rec.Prefix+j.track+"/"+initName(j.initN), j.init)
			if err == nil {
				s.mu.Lock()
				s.inits[j.track][j.initN] = true
				s.mu.Unlock()
			}
		}
		if err == nil {
			err = r.media.Put(pctx, j.key, &partsReader{parts: j.seg.Parts}, int64(j.size))
		}
		j.seg.Release()
		cancel()
		if err != nil {
			failed = true
			r.log.Warn("recording: storing a segment", "session", s.rec.ID, "key", j.key, "err", err)
			r.dropped.Inc()
			atomic.AddInt64(&s.droppedTotal, 1)
			continue
		}
		failed = false
		r.written.Add(float64(j.size))
		r.bytes.Add(int64(j.size))
		if !s.started.Load() {
			s.started.Store(true)
			r.event(wctx, s.rec, streams.EventRecordingStart, map[string]any{"recording_s3_key_prefix": s.rec.Prefix})
		}
	}
}

// partsReader reads a segment's parts in order without joining them.
type partsReader struct {
	parts [][]byte
	cur   *bytes.Reader
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur != nil && p.cur.Len() > 0 {
			return p.cur.Read(b)
		}
		if len(p.parts) == 0 {
			return 0, io.EOF
		}
		p.cur = bytes.NewReader(p.parts[0])
		p.parts = p.parts[1:]
	}
}
