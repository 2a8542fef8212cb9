// Package record is the recorder: an output of every live session that stores the live
// packager's own fMP4 (CMAF) segments of the source rendition, and of a STANDARD channel's
// rungs, with their init sections, into the recordings storage, and writes the VOD playlists
// when the session ends.
//
// It does not mux the stream a second time: it follows the session's live muxers (the
// Packaging, hls.Packager's), takes the segments they complete every Config.Poll, holding
// their bytes without a copy, joins consecutive ones into objects of Config.SegmentDuration
// (fewer, larger objects to store) and hands each to a writer goroutine through a bounded
// queue: when the store is slower than the stream, objects are dropped, counted, and the
// session gets a Recording Segments Dropped event, rather than media piling up in memory. The
// timed metadata (stream actions, as emsg) is in the live segments already.
//
// When the session ends, the recording is finished (the packaging's last segments taken once
// it has closed, the objects still queued stored, the playlists and poster written, the
// recording's end on record) by a goroutine of the Recorder's, not the session's: the session
// ends at once and the channel is free for its next one. Recorder.Run waits for the finishing
// in progress at shutdown.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/media/llhls"
	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/recordings"
	"github.com/livehouse/livehouse/internal/storage"
	"github.com/livehouse/livehouse/internal/streams"
)

// Config shapes the recorder.
type Config struct {
	// SegmentDuration: consecutive live segments (about 2 s each) are joined into one stored
	// object until it is at least this long. Longer than the live output's: a third of the
	// objects to store (each an open, write, sync and rename), and VOD players do not need
	// short ones.
	SegmentDuration time.Duration
	// Queue is how many objects may wait for the store; more are dropped.
	Queue int
	// PutTimeout bounds one object's write.
	PutTimeout time.Duration
	// DropEventEvery: at most one Recording Segments Dropped event per this long.
	DropEventEvery time.Duration
	// FFmpeg makes each recording's poster; empty: none.
	FFmpeg string
	// FinishGrace: at shutdown, how long Run waits for the recordings being finished before
	// it cuts them short (they are finished from storage at the next start, as after a crash).
	FinishGrace time.Duration
	// Poll is how often the recorder takes the segments the live muxers completed. Their
	// window (hls SegmentCount, 7 segments of 2 s) is far longer, so none is missed; one that
	// is (the recorder held up longer than the window) is counted as dropped.
	Poll time.Duration
}

// DefaultConfig is the recorder's shape in production.
var DefaultConfig = Config{SegmentDuration: 6 * time.Second, Queue: 6, PutTimeout: 30 * time.Second, DropEventEvery: 30 * time.Second,
	FinishGrace: 20 * time.Second, Poll: 500 * time.Millisecond}

// Packager finds a live session's packaging on this node (hls.Packager's, through an adapter).
type Packager interface {
	Packaging(channelID string) (Packaging, bool)
}

// Packaging is one live session's packaging: the muxers whose complete segments the recorder
// stores.
type Packaging interface {
	// Source is the source rendition's muxer: video first, then audio.
	Source() *llhls.Muxer
	// Rungs are the muxers of the ladder's rungs made so far, by name, closed ones included.
	Rungs() map[string]*llhls.Muxer
	// Ended is closed once every muxer of the packaging is closed (the session has ended and
	// their last segments are complete).
	Ended() <-chan struct{}
}

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
	pkg    Packager
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
	live  map[string]*session // by channel id, the sessions being recorded
	owned map[string]bool     // recordings being written or finished here, by id

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

// New returns a recorder storing the segments of pkg's live packaging into media, and writing
// its events through events (nil: none).
func New(cfg Config, recs Recordings, media storage.Store, pkg Packager, events Events, log *slog.Logger) *Recorder {
	return &Recorder{cfg: cfg, recs: recs, media: media, pkg: pkg, events: events, log: log, live: map[string]*session{}, owned: map[string]bool{}, quit: make(chan struct{}),
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

// Start implements streams.Output. The recorder reads no unit: what it stores is the live
// packaging's, which the packager opened in its own Start, just before (outputs start in
// order, before any run). It is taken here, not in the run: a short session can have ended,
// and its packaging closed, before the run asks — or the channel's next session opened
// another. Its tap only notes when the first video frame came (chat replay offsets start
// there); whether the channel records is asked in the run.
func (r *Recorder) Start(v *streams.View) streams.Run {
	if v.Tracks.H264 == nil {
		return nil
	}
	pk, ok := r.pkg.Packaging(v.Channel.ID)
	if !ok {
		r.log.Warn("recording: the session is not packaged here", "session", v.SessionID)
		return nil
	}
	first := new(atomic.Int64)
	v.Tap("recorder", func(u *stream.Unit) streams.Report {
		if u.Kind == stream.Video && first.Load() == 0 {
			first.Store(time.Now().UnixNano())
		}
		return streams.Report{}
	})
	return func(ctx context.Context, reports chan<- streams.Report) error {
		return r.run(ctx, v, pk, first, reports)
	}
}

func (r *Recorder) run(ctx context.Context, v *streams.View, pk Packaging, first *atomic.Int64, reports chan<- streams.Report) error {
	// Asked also when the session has ended meanwhile (a short one): its media is in the
	// packaging until the recorder has taken it.
	askCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	on, err := r.recs.ShouldRecord(askCtx, v.Channel.ID, v.Channel.UserID)
	cancel()
	if errors.Is(err, recordings.ErrQuota) {
		streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": err.Error()}))
		return nil
	}
	if err != nil || !on {
		if err != nil {
			r.log.Error("recording: asking whether the channel records", "session", v.SessionID, "err", err)
			streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": "the database did not answer"}))
		}
		return nil
	}
	rec, err := r.recs.Begin(context.WithoutCancel(ctx), v.SessionID, v.Channel.ID, v.Channel.UserID, time.Now())
	if err != nil {
		r.log.Error("recording: beginning", "session", v.SessionID, "err", err)
		streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": "the recording could not be created"}))
		return nil
	}
	s, err := r.newSession(v, rec, pk, first)
	if err != nil {
		streams.Send(ctx, reports, recordingReport(streams.EventRecordingFailure, map[string]any{"recording_status_reason": "the recordings storage did not take the recording's first file"}))
		return nil
	}
	r.active.Add(1)
	r.mu.Lock()
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
	s.follow(ctx, reports)
	r.mu.Lock()
	if r.live[v.Channel.ID] == s {
		delete(r.live, v.Channel.ID)
	}
	r.mu.Unlock()
	// The session is over: the rest is the Recorder's, and the session ends now.
	r.handOff(func() {
		defer wcancel()
		defer r.active.Add(-1)
		// The packager closes the session's muxers when the session ends, as this run saw it
		// end: their last segments are complete once it has.
		select {
		case <-pk.Ended():
		case <-r.quit:
		}
		s.collect(ctx, nil, true) // the session no longer reads reports; a final collect sends none
		close(s.jobs)
		<-written
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
	pk    Packaging
	src   []*rendition // the source's tracks, video first
	rungs []*rendition // the ladder's rungs, as they appear
	jobs  chan job

	mu    sync.Mutex              // guards inits, shared with the writer
	inits map[string]map[int]bool // per folder: init sections stored (by the writer)

	dropped      int // since the last event
	droppedTotal int64
	lastDropEv   time.Time
	started      atomic.Bool // Recording Start was written

	firstFrame *atomic.Int64 // when its first video frame came (Unix ns): chat offsets start there
	chatLines  atomic.Int64  // chat lines kept

	meta Meta // the tracks as meta.json has them: the source's, then the rungs stored (the writer's)
}

// rendition is one track of a live muxer that the recorder follows: the segments it took and
// has not handed on yet, joined into the next object.
type rendition struct {
	folder  string // video1, audio2, or a rung's name
	m       *llhls.Muxer
	track   string     // the muxer's track
	rung    *TrackMeta // a rung: for meta.json before its first object
	last    int64      // the newest segment taken (-1: none)
	pending []llhls.Segment
	dur     int64 // of pending, in the track's timescale
}

// job is one object to store (consecutive segments of a track), with the init section it
// needs if that is not stored yet.
type job struct {
	folder string
	key    string
	segs   []llhls.Segment // their bytes are the muxer's, held until the job is stored or dropped
	size   int
	init   []byte
	initN  int
	rung   *TrackMeta // a rung's object: the rung, for meta.json before its first object
}

func (j job) release() {
	for _, seg := range j.segs {
		seg.Release()
	}
}

func (r *Recorder) newSession(v *streams.View, rec *recordings.Recording, pk Packaging, first *atomic.Int64) (*session, error) {
	src := pk.Source()
	s := &session{r: r, rec: rec, pk: pk, inits: map[string]map[int]bool{}, firstFrame: first, jobs: make(chan job, r.cfg.Queue)}
	meta := Meta{}
	for i, name := range src.Tracks() {
		s.src = append(s.src, &rendition{folder: name, m: src, track: name, last: -1})
		s.inits[name] = map[int]bool{}
		tm := TrackMeta{Name: name, Kind: "audio", Codec: src.Codec(name)}
		if i == 0 && v.Tracks.H264 != nil {
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

// follow takes the segments the live muxers complete, every Config.Poll, until the session
// ends.
func (s *session) follow(ctx context.Context, reports chan<- streams.Report) {
	tick := time.NewTicker(s.r.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.collect(ctx, reports, false)
		}
	}
}

// collect takes the segments completed since the last call and hands the objects they
// complete to the writer; final (the packaging has ended) hands on what is left too. Live,
// a full queue drops the object; at the end the recorder waits for room, the publisher
// being gone.
func (s *session) collect(ctx context.Context, reports chan<- streams.Report, final bool) {
	s.addRungs()
	for _, rd := range slices.Concat(s.src, s.rungs) {
		for _, seg := range rd.m.SegmentsAfter(rd.track, rd.last) {
			// The source's video is followed from its first segment (number 0), another
			// track from when it is seen: the source's audio can begin a segment or two
			// later (a browser's often does), a rung joins when the ladder has made it.
			// Segments a track had no media for (a rung's gaps) are not listed; those that
			// left the window before the recorder took them are lost.
			if next := uint64(rd.last + 1); seg.MSN > next && (rd.last >= 0 || rd == s.src[0]) {
				if oldest, ok := rd.m.Oldest(rd.track); ok && oldest > next {
					s.drop(ctx, reports)
				}
			}
			rd.last = int64(seg.MSN)
			if n := len(rd.pending); n > 0 && !follows(rd.pending[n-1], seg) {
				s.hand(ctx, reports, rd, final)
			}
			rd.pending = append(rd.pending, seg)
			rd.dur += seg.Duration
			if rd.dur*int64(time.Second) >= int64(s.r.cfg.SegmentDuration-joinSlack)*seg.Scale {
				s.hand(ctx, reports, rd, final)
			}
		}
		if final && len(rd.pending) > 0 {
			s.hand(ctx, reports, rd, final)
		}
	}
}

// joinSlack lets an object end a little short of SegmentDuration: live segments are cut on
// the encoder's keyframes, 2 s apart give or take milliseconds (RTMP's rounding, the audio's
// 1024-sample frames), so three of them make 5.99 s as often as 6.01 s, and without it half
// the objects would take a fourth.
const joinSlack = 250 * time.Millisecond

// follows reports whether b continues a in one object: the next segment, under the same init
// section, with no discontinuity or hole between them.
func follows(a, b llhls.Segment) bool {
	hole := b.Start - (a.Start + a.Duration)
	return b.MSN == a.MSN+1 && b.Init == a.Init && !b.Disc && float64(max(hole, -hole)) <= gapTolerance*float64(a.Scale)
}

// addRungs follows the rungs the packaging made since the last call (maxRungs at most; a
// name that is not a plain folder name, or is a source track's, is left out).
func (s *session) addRungs() {
	rungs := s.pk.Rungs()
	if len(rungs) == len(s.rungs) {
		return
	}
	names := slices.Sorted(maps.Keys(rungs))
	for _, name := range names {
		if len(s.rungs) >= maxRungs || name == "" || safeName(name) != name ||
			slices.ContainsFunc(slices.Concat(s.src, s.rungs), func(rd *rendition) bool { return rd.folder == name }) {
			continue
		}
		m := rungs[name]
		track := m.Tracks()[0]
		video, _ := m.Info()
		tm := TrackMeta{Name: name, Kind: "video", Codec: video.Codec, Width: video.Width, Height: video.Height, FPS: video.FPS, Rung: true}
		s.mu.Lock()
		s.inits[name] = map[int]bool{}
		s.mu.Unlock()
		s.rungs = append(s.rungs, &rendition{folder: name, m: m, track: track, rung: &tm, last: -1})
	}
}

// maxRungs bounds the rungs of one recording (the ladder has four at most).
const maxRungs = 8

// safeName keeps what a rung's folder name may hold (letters and digits).
func safeName(name string) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name) && i < 16; i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}

// hand hands the rendition's pending segments to the writer as one object.
func (s *session) hand(ctx context.Context, reports chan<- streams.Report, rd *rendition, final bool) {
	segs := rd.pending
	rd.pending, rd.dur = nil, 0
	first := segs[0]
	var dur int64
	size := 0
	for _, seg := range segs {
		dur += seg.Duration
		size += seg.Size()
	}
	j := job{folder: rd.folder, key: s.rec.Prefix + rd.folder + "/" + segmentName(first.MSN, first.Start, dur, first.Scale, first.Init, first.Disc),
		segs: segs, size: size, initN: first.Init, rung: rd.rung}
	s.mu.Lock()
	if !s.inits[rd.folder][first.Init] {
		j.init = rd.m.InitSection(rd.track, first.Init)
	}
	s.mu.Unlock()
	if final { // the publisher is gone: wait for room, a while
		t := time.NewTimer(s.r.cfg.PutTimeout)
		defer t.Stop()
		select {
		case s.jobs <- j:
		case <-t.C:
			j.release()
			s.r.dropped.Inc()
			atomic.AddInt64(&s.droppedTotal, 1)
		}
		return
	}
	select {
	case s.jobs <- j:
	default:
		j.release()
		s.drop(ctx, reports)
	}
}

// drop counts an object the store had no room for (or segments the recorder missed), with
// an event at most every DropEventEvery.
func (s *session) drop(ctx context.Context, reports chan<- streams.Report) {
	s.r.dropped.Inc()
	s.dropped++
	atomic.AddInt64(&s.droppedTotal, 1)
	if reports == nil || time.Since(s.lastDropEv) < s.r.cfg.DropEventEvery {
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

// write stores the queued objects in order, in a goroutine of the recorder's run that the
// finishing waits for. ctx is the session's; the writes are made under wctx, which outlives it.
func (s *session) write(ctx, wctx context.Context) {
	r := s.r
	failed := false // a write failed after the session ended: the rest is dropped, not tried
	for j := range s.jobs {
		if failed && ctx.Err() != nil {
			j.release()
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
			err = put(pctx, r.media, s.rec.Prefix+j.folder+"/"+initName(j.initN), j.init)
			if err == nil {
				s.mu.Lock()
				s.inits[j.folder][j.initN] = true
				s.mu.Unlock()
			}
		}
		if err == nil {
			var parts [][]byte
			for _, seg := range j.segs {
				parts = append(parts, seg.Parts...)
			}
			bufs := net.Buffers(parts) // read in order without joining them, or written straight to a file
			err = r.media.Put(pctx, j.key, &bufs, int64(j.size))
		}
		j.release()
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

// describe adds a rung to meta.json, before its first object is stored, so that the
// playlists list it also when a crash ends the recording. Called by the writer only, which
// owns s.meta until the finishing reads it.
func (s *session) describe(ctx context.Context, rung TrackMeta) error {
	m := s.meta
	m.Tracks = append(append([]TrackMeta(nil), m.Tracks...), rung)
	if err := putMeta(ctx, s.r.media, s.rec.Prefix, m); err != nil {
		return err
	}
	s.meta = m
	return nil
}
