package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/media/stream"
	"github.com/livehouse/livehouse/internal/safe"
)

// A live session owns its pipeline. One goroutine per session (run, below) is the only reader
// of the stream's fan-out that the session itself has: it does the session's bookkeeping
// (starvation, the bitrate limit, health measurement, ingested bytes) from one read of each
// unit, handles what the outputs report, and ends the session. Outputs (the HLS packager, the
// transcoder, stream actions) get a read-only View and a channel for their Reports; they never
// call into the session. Each output's Run goroutine belongs to the session, which waits for
// every one of them before the session counts as ended.

// Output is something that reads every live session, such as the HLS packager. Start is
// called, in any order with the other outputs, when a session goes live, before its first
// unit is written: it prepares what must miss no unit (its reader of the fan-out) and returns
// the function that runs it, or nil when it has nothing to do for this session.
type Output interface {
	Start(v *View) Run
}

// Run runs an output for one session, in a goroutine the session owns, until ctx ends (the
// session is ending) or it has nothing more to do. It tells the session what happens only
// through reports (sending with a select on ctx.Done()). A returned error ends the session,
// with the error as the reason; a failure the session survives is a ReportFailure instead.
type Run func(ctx context.Context, reports chan<- Report) error

// ReportKind says what an output reports.
type ReportKind int

// What outputs report to their session.
const (
	// ReportPackaged: the source rendition is being packaged, so renditions (the transcoder's)
	// may join it. Outputs that need it wait on View.Packaged, whatever order they started in.
	ReportPackaged ReportKind = iota + 1
	// ReportStarted: the stream's first part is playable (Stream Start); only the first counts.
	ReportStarted
	// ReportFailure: part of the processing failed while the session goes on (Stream Failure,
	// with Reason), such as a STANDARD channel's transcoder, then served as BASIC.
	ReportFailure
	// ReportRecording: the recorder's state changed while the session is live (Recording
	// Start Failure, Recording Segments Dropped): an event named Event, with Detail (JSON, or
	// ""), of type "IVS Recording State Change". Its start and end the recorder writes itself
	// (Service.RecordingEvent): a recording is finished after its session has ended.
	ReportRecording
)

// Report is what an output tells its session.
type Report struct {
	Kind   ReportKind
	Reason string // ReportFailure's
	Event  string // ReportRecording's event name
	Detail string // ReportRecording's event detail
}

// Send delivers a report unless ctx ends first (the session no longer listens for it then).
func Send(ctx context.Context, reports chan<- Report, r Report) {
	select {
	case reports <- r:
	case <-ctx.Done():
	}
}

// View is what an output sees of a live session: who it is, what it carries, its units and
// what the session measured. Outputs read it; nothing in it changes the session.
type View struct {
	SessionID string
	Channel   Channel
	Tracks    stream.Tracks

	stream       *stream.Stream
	packaged     chan struct{} // closed on the first ReportPackaged
	packagedOnce sync.Once
	taps         []tap // added by outputs' Start, before the session's goroutine runs
}

// tap is an output's function that the session's goroutine calls with every unit.
type tap struct {
	name string
	fn   func(*stream.Unit) Report
}

// NewView returns the view of a stream outside any session, for tests of outputs. Its
// Packaged is closed already, as if a packager were running.
func NewView(sessionID string, ch Channel, st *stream.Stream) *View {
	v := newView(sessionID, ch, st)
	v.markPackaged()
	return v
}

func newView(sessionID string, ch Channel, st *stream.Stream) *View {
	return &View{SessionID: sessionID, Channel: ch, Tracks: st.Tracks, stream: st, packaged: make(chan struct{})}
}

func (v *View) markPackaged() { v.packagedOnce.Do(func() { close(v.packaged) }) }

// NewReader adds a reader of the session's units with a queue of size units (see
// stream.Stream.NewReader). Its channel closes when the session ends or it is removed.
func (v *View) NewReader(name string, size int) *stream.Reader { return v.stream.NewReader(name, size) }

// Tap has fn called with every unit of the session, in order, by the session's own goroutine
// right after its bookkeeping of the unit, instead of the output reading the fan-out in a
// goroutine of its own: one wake-up per unit for both. What fn returns is handled as a report
// (a zero Report is none). fn must be quick and must not wait (a slow fn delays the session's
// bookkeeping and the other taps); it is called until the session's queued units are done,
// before the output's Run sees ctx end. A panic in fn ends the session ("internal error in
// the " + name). Tap may only be called from Start.
func (v *View) Tap(name string, fn func(u *stream.Unit) Report) {
	v.taps = append(v.taps, tap{name: name, fn: fn})
}

// RemoveReader stops delivering units to r and closes its channel.
func (v *View) RemoveReader(r *stream.Reader) { v.stream.RemoveReader(r) }

// Packaged is closed once an output reported ReportPackaged.
func (v *View) Packaged() <-chan struct{} { return v.packaged }

// sessionQueue is the session reader's queue, in units: several seconds of a 60 fps stream
// with audio, so that a database write that stalls the reader briefly (an event, the
// minute of health points) loses nothing.
const sessionQueue = 512

// ending is how a session is asked to end.
type ending struct {
	reason    string
	kickFirst bool // disconnect the publisher before the outputs stop (a limit breach, a drop)
	kickAfter bool // disconnect the publisher once the session has ended (a stop from our side)
	silent    bool // ended on record already by someone else: write no events
}

// requestEnd asks the session's goroutine to end it; the first request counts.
func (l *Live) requestEnd(e ending) {
	l.endOnce.Do(func() {
		l.end = e
		close(l.ending)
	})
}

// run is the session's goroutine: it reads the fan-out once for the session's bookkeeping and
// the outputs' taps, runs the outputs' goroutines and handles their reports, and ends the
// session when asked, when the bitrate limit is breached or when an output fails. It returns
// once every output's goroutine has returned and the end is on record. Store writes go
// through the session's recorder, so that a slow database delays neither the bookkeeping nor
// the taps.
func (l *Live) run(ctx context.Context, cancel context.CancelFunc, r *stream.Reader, runs []Run) {
	defer close(l.done)
	s := l.svc
	l.rec = newRecorder(s.log)
	reports := make(chan Report, 16)
	exits := make(chan error, len(runs)) // never blocks: one slot per output
	for _, run := range runs {
		go func() { exits <- safe.Run(s.log, "stream output", func() error { return run(ctx, reports) }) }()
	}
	running := len(runs)

	b := l.newBookkeeping()
	starve := time.NewTicker(s.starveAfter / 5)
	defer starve.Stop()
	var sample <-chan time.Time
	if b.sampler != nil {
		tick, stop := s.health.ticker()
		defer stop()
		sample = tick
	}
	handle := func(rep Report) {
		switch rep.Kind {
		case ReportPackaged:
			l.view.markPackaged()
		case ReportStarted:
			l.markStarted()
		case ReportFailure:
			l.failure(rep.Reason)
		case ReportRecording:
			l.rec.do(func() { s.event(l, rep.Event, "IVS Recording State Change", rep.Detail) })
		}
	}
	taps := l.view.taps
	// tapAll hands a unit to every tap; a tap that panics is dropped and its error returned.
	tapAll := func(u *stream.Unit) error {
		for i := 0; i < len(taps); i++ {
			rep, err := callTap(s.log, taps[i], u)
			if err != nil {
				taps = append(taps[:i:i], taps[i+1:]...)
				return err
			}
			if rep.Kind != 0 {
				handle(rep)
			}
		}
		return nil
	}

	// Encoders coming and going (see reconnect.go).
	var fwd *forwarder
	var fwdUnits <-chan *stream.Unit
	var grace *time.Timer
	var graceC <-chan time.Time
	defer func() {
		if grace != nil {
			grace.Stop()
		}
	}()
	onEncoder := func(ev encoderEvent) {
		if ev.gone {
			s.mu.Lock()
			current := l.enc == ev.enc
			if current {
				l.enc, l.waiting = nil, true
			}
			s.mu.Unlock()
			if !current {
				return // an encoder already replaced
			}
			grace = time.NewTimer(s.grace)
			graceC = grace.C
			l.graceReason = ev.reason
			s.log.Info("encoder disconnected; waiting for it to reconnect", "session", l.SessionID, "channel", l.Channel.ID, "grace", s.grace, "reason", ev.reason)
			return
		}
		// A reconnected encoder, already claimed by Begin.
		if grace != nil {
			grace.Stop()
			grace, graceC = nil, nil
		}
		if fwd != nil {
			fwd.stream.RemoveReader(fwd.r)
		}
		gap := min(max(time.Since(b.last), 0), s.grace+time.Second)
		fwd = &forwarder{r: ev.fwd, stream: ev.enc.st, base: b.lastPTS + max(gap, 10*time.Millisecond)}
		fwdUnits = ev.fwd.C
		l.rec.do(func() { s.event(l, EventStreamReconnected, "IVS Stream State Change", "") })
		s.log.Info("encoder reconnected; the session goes on", "session", l.SessionID, "channel", l.Channel.ID, "away", gap)
	}

	units := r.C
loop:
	for {
		select {
		case ev := <-l.encoders:
			onEncoder(ev)
		case <-graceC:
			s.mu.Lock()
			expired := l.waiting // else a reconnecting encoder claimed the session just now
			s.mu.Unlock()
			graceC = nil
			if expired {
				l.requestEnd(ending{reason: l.graceReason})
				break loop
			}
		case u, ok := <-fwdUnits:
			if !ok {
				fwdUnits = nil
				continue
			}
			fwd.unit(u, l.Stream)
		case u, ok := <-units:
			if !ok { // only the end closes the stream; wait for its request
				units = nil
				continue
			}
			if reason, over := b.unit(u); over {
				l.requestEnd(ending{reason: reason, kickFirst: true})
				break loop
			}
			if err := tapAll(u); err != nil {
				l.requestEnd(ending{reason: err.Error()})
				break loop
			}
		case <-starve.C:
			b.checkStarving()
		case now := <-sample:
			b.sampler.tick(now)
		case rep := <-reports:
			handle(rep)
		case err := <-exits:
			running--
			if err != nil {
				var p *safe.PanicError
				reason := err.Error()
				if errors.As(err, &p) {
					reason = "internal error in a stream output"
				}
				l.requestEnd(ending{reason: reason})
				break loop
			}
		case <-l.ending:
			break loop
		}
	}

	e := l.end
	if e.kickFirst {
		l.kickEncoder()
	}
	if fwd != nil {
		fwd.stream.RemoveReader(fwd.r)
	}
	l.Stream.Close() // every reader's channel closes after its queued units: outputs drain them
	if units != nil {
		for u := range units { // what was queued is measured and tapped (HLS packages it)
			b.measure(u)
			_ = tapAll(u) // ending already
		}
	}
	cancel() // after the last tap: outputs may close what their taps write to
	for running > 0 {
		select {
		case rep := <-reports:
			if rep.Kind == ReportFailure || rep.Kind == ReportRecording {
				handle(rep)
			}
		case err := <-exits:
			running--
			if err != nil {
				s.log.Warn("stream output ended with an error", "session", l.SessionID, "err", err)
			}
		}
	}
	if b.sampler != nil {
		b.sampler.flush()
	}
	l.rec.close()
	if n := r.Dropped(); n > 0 {
		s.log.Warn("stream session fell behind its publisher", "session", l.SessionID, "dropped_units", n)
	}
	if !e.silent {
		s.recordEnd(l, e.reason)
	} else {
		s.forget(l)
	}
	if e.kickAfter {
		l.kickEncoder()
	}
}

// callTap calls a tap, turning a panic into an error that ends the session.
func callTap(log *slog.Logger, t tap, u *stream.Unit) (rep Report, err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("recovered from a panic", "in", t.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error in the %s", t.name)
		}
	}()
	return t.fn(u), nil
}

// recorderQueue bounds the store writes a session may have waiting (events, minutes of
// health points): minutes of a database that does not answer. Beyond it the session's
// goroutine waits.
const recorderQueue = 64

// recorder writes a session's events and health points to the store in order, in a goroutine
// of its own that the session's goroutine starts and waits for.
type recorder struct {
	jobs chan func()
	done chan struct{}
}

func newRecorder(log *slog.Logger) *recorder {
	r := &recorder{jobs: make(chan func(), recorderQueue), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for job := range r.jobs {
			_ = safe.Run(log, "stream session recorder", func() error { job(); return nil }) // logged by Run
		}
	}()
	return r
}

// do queues a write.
func (r *recorder) do(job func()) { r.jobs <- job }

// close waits for the queued writes.
func (r *recorder) close() {
	close(r.jobs)
	<-r.done
}

// bookkeeping is what the session's goroutine keeps of its units.
type bookkeeping struct {
	l       *Live
	sampler *sampler // nil when health is not measured

	last     time.Time // when the last unit came
	lastPTS  time.Duration
	sps      []byte // the video's parameter sets now, to see the resolution change
	starving bool

	windowStart, windowEnd time.Duration // the video PTS the limit window spans
	windowOpen             bool
	windowBytes            int
}

func (l *Live) newBookkeeping() *bookkeeping {
	b := &bookkeeping{l: l, last: time.Now()}
	if h := l.Stream.Tracks.H264; h != nil {
		b.sps = h.SPS
	}
	if h := l.svc.health; h != nil {
		b.sampler = h.newSampler(l.SessionID, l.Channel.ID)
		b.sampler.write = l.rec.do
	}
	return b
}

// unit does the session's bookkeeping of one unit: it ends starvation, measures the unit for
// stream health and for the bitrate limit, and reports a breach of the limit with its reason.
func (b *bookkeeping) unit(u *stream.Unit) (reason string, over bool) {
	l, s := b.l, b.l.svc
	b.last = time.Now()
	if b.starving {
		b.starving = false
		l.rec.do(func() { s.event(l, EventStarvationEnd, "IVS Stream Health Change", "") })
	}
	b.lastPTS = max(b.lastPTS, u.PTS)
	if reason, over := b.watchSPS(u); over {
		return reason, true
	}
	n := b.measure(u)
	if s.ingestBytes != nil {
		s.ingestBytes.Add(float64(n))
	}
	// The limit's bitrate is the same bytes over a longer window of media time.
	b.windowBytes += n
	if u.Kind == stream.Video {
		if !b.windowOpen {
			b.windowStart, b.windowEnd, b.windowOpen = u.PTS, u.PTS, true
		}
		b.windowEnd = max(b.windowEnd, u.PTS) // B-frames come before frames they follow
	}
	if span := b.windowEnd - b.windowStart; span >= s.limitWindow {
		bitrate := int(float64(b.windowBytes*8) / span.Seconds())
		if l.limits.MaxBitrate > 0 && bitrate > l.limits.MaxBitrate {
			br := breach{Name: "Bitrate", Value: l.limits.MaxBitrate, ExceededBy: bitrate - l.limits.MaxBitrate, Unit: "bps"}
			l.rec.do(func() { s.event(l, EventLimitBreach, "IVS Limit Breach", br.detail()) })
			return br.reason(), true
		}
		b.windowStart, b.windowBytes = b.windowEnd, 0
	}
	return "", false
}

// measure counts a unit for stream health and returns its size in bytes.
func (b *bookkeeping) measure(u *stream.Unit) int {
	n := 0
	for _, p := range u.Payload {
		n += len(p)
	}
	if b.sampler != nil {
		b.sampler.m.addSized(u, n)
	}
	return n
}

// checkStarving writes Starvation Start when no media has come for starveAfter.
func (b *bookkeeping) checkStarving() {
	if !b.starving && time.Since(b.last) >= b.l.svc.starveAfter {
		b.starving = true
		b.l.rec.do(func() { b.l.svc.event(b.l, EventStarvationStart, "IVS Stream Health Change", "") })
	}
}
