// Package streams is the domain of live streams: a session per go-live, its events, the one
// publisher a channel may have, and the outputs (HLS, the transcoder, later recording and
// WebRTC) that read each live stream. A session owns its pipeline (session.go).
package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/media/stream"
)

// Errors an ingest adapter reports to the encoder.
var (
	ErrUnknownKey   = errors.New("unknown stream key")
	ErrAlreadyLive  = errors.New("channel is already live")
	ErrUnsupported  = errors.New("unsupported codec")
	ErrShuttingDown = errors.New("server is shutting down")
	ErrLimitBreach  = errors.New("input over the channel type's limits")
	ErrSuspended    = errors.New("the account is suspended")
	ErrNotVerified  = errors.New("the account's email is not verified: open the link mailed at sign-up")
)

// Event names, as the managed service writes them.
const (
	EventSessionCreated  = "Session Created"
	EventStreamStart     = "Stream Start"
	EventStreamEnd       = "Stream End"
	EventSessionEnded    = "Session Ended"
	EventStarvationStart = "Starvation Start"
	EventStarvationEnd   = "Starvation End"
)

// EventStreamFailure is written when part of a live stream's processing fails while the
// session goes on, such as the transcoder of a STANDARD channel (then served as BASIC).
const EventStreamFailure = "Stream Failure"

// Events of a session's recording (ReportRecording), as the managed service names them, and
// the one it lacks: segments a slow store could not take in time, so they are missing.
const (
	EventRecordingStart   = "Recording Start"
	EventRecordingEnd     = "Recording End"
	EventRecordingFailure = "Recording Start Failure"
	EventRecordingDropped = "Recording Segments Dropped"
)

// StarvationAfter is how long a live stream may go without media before it is starving.
const StarvationAfter = 5 * time.Second

// LimitWindow is how much media the input bitrate is averaged over before it can breach a
// limit, so that keyframes and encoder bursts do not count. It is media time, not arrival
// time: an encoder catching up after connecting (ffmpeg and OBS send what piled up during the
// handshake at once) delivers more than 10 s of media in the first 10 s, and measured by the
// clock a 3.2 Mbps stream then breached BASIC's 3.5 Mbps.
const LimitWindow = 10 * time.Second

// Publisher puts events on the bus for other nodes and services.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Channel is what ingest needs to know of a channel.
type Channel struct {
	ID        string
	UserID    string
	Type      string
	Suspended bool // the owner's account is suspended by an operator
	// Unverified: the owner has not confirmed their email; such an account may not go live
	// (else anybody could stream from a throwaway address the moment they sign up).
	Unverified bool
}

// Event is one thing that happened to a session.
type Event struct {
	SessionID string
	At        time.Time
	Name      string
	Type      string // "IVS Stream State Change", "IVS Stream Health Change", "IVS Limit Breach"
	Detail    string // JSON with details, e.g. the end reason
}

// EndedSession is a session the store ended on behalf of a node that is gone: its channel,
// and when it ended — its last sign of life, not when its end was noticed.
type EndedSession struct {
	ChannelID string
	EndedAt   time.Time
}

// Store is what streams need from persistence.
type Store interface {
	ChannelByStreamKeyHash(ctx context.Context, hash string) (*Channel, error)
	// OpenStreamSession records a session run by node; it returns ErrAlreadyLive when the
	// channel has an open session already, on whichever node.
	OpenStreamSession(ctx context.Context, id, channelID, node string, at time.Time) error
	StartStreamSession(ctx context.Context, id string, at time.Time) error
	EndStreamSession(ctx context.Context, id string, at time.Time) error
	AddStreamEvent(ctx context.Context, e *Event) error
	SetIngestConfig(ctx context.Context, sessionID, config string) error
	// EndOrphanedStreamSessions ends the node's open sessions (left open by a crash), each at
	// its last sign of life, and returns them by session id.
	EndOrphanedStreamSessions(ctx context.Context, node string, at time.Time) (map[string]EndedSession, error)
	StreamEvents(ctx context.Context, sessionID string) ([]Event, error)
	LeaseStore
}

// LeaseStore is what the node leases need from persistence.
type LeaseStore interface {
	RenewNodeLease(ctx context.Context, node string, at, expires time.Time) error
	DropNodeLease(ctx context.Context, node string) error
	// EndStaleStreamSessions ends the open sessions (of one channel, or all for "") whose
	// node holds no lease valid at the time, each at its last sign of life, and returns by
	// session id those it ended itself.
	EndStaleStreamSessions(ctx context.Context, channelID string, at time.Time) (map[string]EndedSession, error)
	// HasOpenStreamSession reports whether the channel has an open session on any node.
	HasOpenStreamSession(ctx context.Context, channelID string) (bool, error)
	// NodeStreamSessions returns the node's open sessions, id to whether the channel's owner
	// is suspended.
	NodeStreamSessions(ctx context.Context, node string) (map[string]bool, error)
}

// Transcoded reports whether the channel's streams get an adaptive-bitrate ladder: STANDARD
// channels do, BASIC ones are passed through.
func (c Channel) Transcoded() bool { return c.Type == channels.TypeStandard }

// Live is a stream being published now. Its own goroutine (run, in session.go) owns the
// session from Begin to its end.
type Live struct {
	SessionID string
	Channel   Channel
	Stream    *stream.Stream

	svc     *Service
	view    *View
	rec     *recorder // the session's store writes; made by its goroutine
	limits  Limits    // used by the session's goroutine (after Begin)
	opened  bool      // the session is on record; guarded by svc.mu
	started bool      // Stream Start is written; used by the session's goroutine only

	// enc is the encoder connected now (its kick closes its connection); waiting is true
	// while the session waits for its encoder to reconnect. Both guarded by svc.mu.
	enc      *Encoder
	waiting  bool
	encoders chan encoderEvent // encoders coming and going, to the session's goroutine
	// graceReason is why the last encoder left, the session's end reason if none comes
	// back; used by the session's goroutine only.
	graceReason string

	endOnce sync.Once
	end     ending        // the first request to end; written before ending closes
	ending  chan struct{} // closed by the first request to end
	done    chan struct{} // closed once the session has ended: outputs stopped, events written
}

// Service runs live sessions.
type Service struct {
	store   Store
	box     *channels.KeyBox
	log     *slog.Logger
	now     func() time.Time
	health  *Health // may be nil
	outputs []Output

	bus         Publisher     // may be nil
	node        string        // this process's name in the cluster
	lease       time.Duration // how long this node's lease lasts unrenewed
	starveAfter time.Duration // StarvationAfter; shorter in tests
	grace       time.Duration // how long a session waits for its encoder to reconnect
	limitWindow time.Duration // bitrate is averaged over this long before it counts as a breach

	mu       sync.Mutex
	live     map[string]*Live // by channel id
	draining bool

	ingestBytes prometheus.Counter
}

// Register exposes the service's operator metrics: live streams and ingested bytes (no
// per-channel labels, so the series stay few however many channels there are).
func (s *Service) Register(reg prometheus.Registerer) {
	s.ingestBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "livehouse_ingest_bytes_total", Help: "Media payload bytes received from publishers."})
	reg.MustRegister(s.ingestBytes, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "livehouse_live_streams", Help: "Streams being published on this node."},
		func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.live))
		}))
}

// Recover takes this node's lease and ends the sessions the node left open when it last
// stopped without ending them (a crash), so that their channels do not stay live. node names
// this process; it must be the same across restarts of one node and differ between nodes.
func (s *Service) Recover(ctx context.Context, node string) (int, error) {
	s.node = node
	now := s.now().UTC()
	// Sessions left open end at their last sign of life, which includes the last renewal of
	// this node's lease by the earlier run: end them before renewing it.
	ids, err := s.store.EndOrphanedStreamSessions(ctx, node, now)
	s.endedElsewhere(ids, "the server stopped without ending the session")
	if len(ids) > 0 {
		s.log.Warn("ended sessions left open by an earlier run", "count", len(ids), "node", node)
	}
	if err != nil {
		return len(ids), err
	}
	if err := s.store.RenewNodeLease(ctx, node, now, now.Add(s.lease)); err != nil {
		return len(ids), fmt.Errorf("taking the node lease: %w", err)
	}
	return len(ids), nil
}

// endedElsewhere writes the closing events of sessions ended in the store, not run here,
// stamped with the time each session ended.
func (s *Service) endedElsewhere(ended map[string]EndedSession, reason string) {
	detail := reasonDetail(reason)
	for id, e := range ended {
		l := &Live{SessionID: id, Channel: Channel{ID: e.ChannelID}, svc: s}
		s.eventAt(l, e.EndedAt, EventStreamEnd, "IVS Stream State Change", detail)
		s.eventAt(l, e.EndedAt, EventSessionEnded, "IVS Stream State Change", detail)
	}
}

// SetBus makes the service publish every session event on the bus, on the subject
// "streams.events.{channelId}".
func (s *Service) SetBus(p Publisher) { s.bus = p }

// Deps is what the live-stream service is built from.
type Deps struct {
	Store   Store
	Box     *channels.KeyBox
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now
	Health  *Health          // measures every live session; nil: not measured
	Outputs []Output         // started in this order, before any runs; a run waits for what it needs (View.Packaged)
	// ReconnectGrace is how long a session whose encoder disconnected waits for it to come
	// back on the same key (the same session goes on); 0 ends the session at once.
	ReconnectGrace time.Duration
}

// NewService wires the live-stream rules.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, box: d.Box, log: d.Log, now: d.Now, health: d.Health, outputs: d.Outputs,
		live: map[string]*Live{}, starveAfter: StarvationAfter, limitWindow: LimitWindow, lease: DefaultLease, grace: d.ReconnectGrace}
}

// AddOutput adds a reader of every stream that goes live from now on; call it before serving.
func (s *Service) AddOutput(o Output) { s.outputs = append(s.outputs, o) }

// Authorize checks a stream key and that its channel is free, before media is read. A
// session of the channel on a node whose lease has expired is ended here, so that the
// channel is not held by a node that is gone; one on a live node keeps the channel busy.
func (s *Service) Authorize(ctx context.Context, key string) (*Channel, error) {
	ch, err := s.store.ChannelByStreamKeyHash(ctx, s.box.Hash(key))
	if err != nil {
		return nil, err
	}
	if ch.Suspended {
		return nil, ErrSuspended
	}
	if ch.Unverified {
		return nil, ErrNotVerified
	}
	s.mu.Lock()
	l := s.live[ch.ID]
	draining, busy, resumable := s.draining, l != nil && !l.waiting, l != nil && l.waiting
	s.mu.Unlock()
	switch {
	case draining:
		return nil, ErrShuttingDown
	case busy:
		return nil, ErrAlreadyLive
	case resumable:
		return ch, nil // the encoder coming back: Begin continues the session waiting for it
	}
	ids, err := s.store.EndStaleStreamSessions(ctx, ch.ID, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("ending stale sessions: %w", err)
	}
	s.endedElsewhere(ids, staleReason)
	if busy, err := s.store.HasOpenStreamSession(ctx, ch.ID); err != nil {
		return nil, fmt.Errorf("checking the channel's sessions: %w", err)
	} else if busy {
		return nil, ErrAlreadyLive // on another node, whose lease is valid
	}
	return ch, nil
}

// staleReason is recorded with the end of a session whose node stopped renewing its lease.
const staleReason = "the node running the session stopped answering"

// Begin opens a session for an authorised channel with the given stream, or continues the
// channel's session that waits for its encoder to reconnect (within the grace period, when
// the tracks are compatible); kick closes the encoder's connection when the session must end
// from our side.
func (s *Service) Begin(ctx context.Context, ch *Channel, st *stream.Stream, kick func()) (*Encoder, error) {
	for {
		s.mu.Lock()
		if s.draining {
			s.mu.Unlock()
			return nil, ErrShuttingDown
		}
		held := s.live[ch.ID]
		if held == nil {
			break // s.mu stays locked for the new session below
		}
		if !held.waiting {
			s.mu.Unlock()
			return nil, ErrAlreadyLive
		}
		held.waiting = false // claimed: its grace timer no longer ends it
		if compatible(held.Stream.Tracks, st.Tracks) {
			e := &Encoder{Live: held, st: st, kick: kick}
			held.enc = e
			fwd := st.NewReader("reconnected encoder", sessionQueue) // before its first unit
			s.mu.Unlock()
			select {
			case held.encoders <- encoderEvent{enc: e, fwd: fwd}:
				return e, nil
			case <-held.done:
				return nil, ErrAlreadyLive // ended meanwhile from our side
			}
		}
		s.mu.Unlock()
		// Other tracks (another audio codec, say) cannot continue the session: end it and
		// open a new one.
		held.requestEnd(ending{reason: "the encoder reconnected with other tracks"})
		<-held.done
	}
	now := s.now().UTC()
	l := &Live{SessionID: "st-" + channels.RandomID(23), Channel: *ch, Stream: st, svc: s,
		ending: make(chan struct{}), done: make(chan struct{}), encoders: make(chan encoderEvent, 4)}
	enc := &Encoder{Live: l, st: st, kick: kick}
	l.enc = enc
	s.live[ch.ID] = l
	s.mu.Unlock()

	if err := s.store.OpenStreamSession(ctx, l.SessionID, ch.ID, s.node, now); err != nil {
		s.forget(l)
		close(l.done)
		if errors.Is(err, ErrAlreadyLive) {
			return nil, err // another node opened one since Authorize
		}
		return nil, fmt.Errorf("opening session: %w", err)
	}
	s.mu.Lock()
	l.opened = true
	s.mu.Unlock()
	s.event(l, EventSessionCreated, "IVS Stream State Change", "")
	s.log.Info("stream session created", "session", l.SessionID, "channel", ch.ID)
	if st.Tracks.H264 == nil {
		// Refused, but on the record: the streamer sees why in the session's events.
		s.recordEnd(l, "unsupported codec: Livehouse takes H.264 video with AAC audio")
		close(l.done)
		return nil, fmt.Errorf("%w: a stream needs H.264 video", ErrUnsupported)
	}
	w, h := resolution(st.Tracks.H264.SPS)
	l.limits = LimitsFor(ch.Type, w, h)
	if b, over := resolutionBreach(l.limits, w, h); over {
		s.event(l, EventLimitBreach, "IVS Limit Breach", b.detail())
		s.recordEnd(l, b.reason())
		close(l.done)
		return nil, fmt.Errorf("%w: %s", ErrLimitBreach, b.reason())
	}
	// The session's reader and every output's are made before the publisher writes its first
	// unit, so that none misses it; then the session's goroutine runs them all.
	l.view = newView(l.SessionID, l.Channel, st)
	r := st.NewReader("session", sessionQueue)
	var runs []Run
	for _, o := range s.outputs {
		if run := o.Start(l.view); run != nil {
			runs = append(runs, run)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go l.run(ctx, cancel, r, runs)
	return enc, nil
}

// Refuse puts a refused go-live on record (an encoder sending a codec Livehouse does not
// take, say): a session with Session Created, then Stream End and Session Ended carrying
// reason, so the streamer sees why among its sessions' events. ch must be authorised.
func (s *Service) Refuse(ctx context.Context, ch *Channel, reason string) error {
	l := &Live{SessionID: "st-" + channels.RandomID(23), Channel: *ch, svc: s}
	s.mu.Lock()
	if _, busy := s.live[ch.ID]; busy {
		s.mu.Unlock()
		return ErrAlreadyLive
	}
	s.live[ch.ID] = l
	s.mu.Unlock()
	if err := s.store.OpenStreamSession(ctx, l.SessionID, ch.ID, s.node, s.now().UTC()); err != nil {
		s.forget(l)
		return err
	}
	s.event(l, EventSessionCreated, "IVS Stream State Change", "")
	s.recordEnd(l, reason)
	return nil
}

// markStarted records that the stream's first part is playable; only the first call counts.
// The session's goroutine calls it, on an output's ReportStarted.
func (l *Live) markStarted() {
	if l.started {
		return
	}
	l.started = true
	s := l.svc
	now := s.now().UTC()
	l.rec.do(func() {
		if err := s.store.StartStreamSession(context.Background(), l.SessionID, now); err != nil {
			s.log.Error("marking session started", "session", l.SessionID, "err", err)
		}
		s.event(l, EventStreamStart, "IVS Stream State Change", "")
	})
}

// failure records a Stream Failure event with its reason; the session goes on.
func (l *Live) failure(reason string) {
	l.rec.do(func() { l.svc.event(l, EventStreamFailure, "IVS Stream State Change", reasonDetail(reason)) })
	l.svc.log.Warn("stream failure", "session", l.SessionID, "channel", l.Channel.ID, "reason", reason)
}

// End closes the session and returns once it is closed: outputs stop (HLS ends its playlist),
// events are written and the channel is free again. reason is recorded with the events; when
// the session is ending already, the first reason stays.
func (l *Live) End(reason string) {
	l.requestEnd(ending{reason: reason})
	<-l.done
}

// recordEnd writes a session's end: its events and its end on record; the channel is free.
func (s *Service) recordEnd(l *Live, reason string) {
	now := s.now().UTC()
	ctx := context.Background()
	detail := reasonDetail(reason)
	s.event(l, EventStreamEnd, "IVS Stream State Change", detail)
	if err := s.store.EndStreamSession(ctx, l.SessionID, now); err != nil {
		s.log.Error("ending session", "session", l.SessionID, "err", err)
	}
	s.event(l, EventSessionEnded, "IVS Stream State Change", detail)
	s.forget(l)
	s.log.Info("stream session ended", "session", l.SessionID, "channel", l.Channel.ID, "reason", reason)
}

func (s *Service) forget(l *Live) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[l.Channel.ID] == l {
		delete(s.live, l.Channel.ID)
	}
}

func (s *Service) event(l *Live, name, typ, detail string) {
	s.eventAt(l, s.now(), name, typ, detail)
}

// eventAt records and publishes an event that happened at a given time.
func (s *Service) eventAt(l *Live, at time.Time, name, typ, detail string) {
	s.writeEvent(context.Background(), l.Channel.ID, &Event{SessionID: l.SessionID, At: at.UTC(), Name: name, Type: typ, Detail: detail})
}

func (s *Service) writeEvent(ctx context.Context, channelID string, e *Event) {
	if err := s.store.AddStreamEvent(ctx, e); err != nil {
		s.log.Error("writing stream event", "session", e.SessionID, "event", e.Name, "err", err)
	}
	if s.bus != nil {
		msg, _ := json.Marshal(map[string]any{"sessionId": e.SessionID, "channelId": channelID, "at": e.At, "name": e.Name, "type": e.Type, "detail": e.Detail})
		if err := s.bus.Publish(ctx, "streams.events."+channelID, msg); err != nil {
			s.log.Warn("publishing stream event", "session", e.SessionID, "event", e.Name, "err", err)
		}
	}
}

// RecordingEvent records and publishes an event of a session's recording (type "IVS
// Recording State Change"), now. The recorder writes its start and end this way, not as a
// report: a recording is finished after its session has ended, so that the channel is free
// at once.
func (s *Service) RecordingEvent(ctx context.Context, sessionID, channelID, name, detail string) {
	s.writeEvent(ctx, channelID, &Event{SessionID: sessionID, At: s.now().UTC(), Name: name, Type: "IVS Recording State Change", Detail: detail})
}

// Live returns the channel's live stream, or nil.
func (s *Service) Live(channelID string) *Live {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[channelID]
}

// Shutdown refuses new publishers and ends every live session cleanly.
func (s *Service) Shutdown() {
	s.mu.Lock()
	s.draining = true
	var all []*Live
	for _, l := range s.live {
		all = append(all, l)
	}
	s.mu.Unlock()
	for _, l := range all {
		l.stop("server shutdown")
	}
}

// MaxReasonBytes bounds the reason an event records (an encoder's error text can be long).
const MaxReasonBytes = 300

// reasonDetail is an event's detail carrying a reason: JSON by encoding/json (control
// characters escaped, invalid UTF-8 replaced), the reason cut to MaxReasonBytes on a
// character boundary.
func reasonDetail(reason string) string {
	b, err := json.Marshal(struct {
		Reason string `json:"reason"`
	}{Truncate(reason, MaxReasonBytes)})
	if err != nil { // a string always marshals
		return ""
	}
	return string(b)
}

// Truncate cuts s to at most n bytes without splitting a character, marking a cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
