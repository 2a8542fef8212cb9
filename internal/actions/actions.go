// Package actions is the domain of stream actions: the overlays (quiz, product, Amazon
// product, notice, celebration) a streamer triggers during a live stream. An action is
// validated, written in-band into the stream as timed metadata, so every viewer sees it at the
// same point of the video, and published on the bus. One action is active per channel at a
// time; timed ones expire, and the active one ends with the stream. Each streamer's last
// configuration of every action is saved.
package actions

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/channels"
	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/streams"
)

// RatePerSecond is how many actions (starts and stops) a channel may send per second, as the
// managed service's PutMetadata allows.
const RatePerSecond = 5

// ErrNotLive is what a Sink returns when the channel has no live output on this node.
var ErrNotLive = errors.New("channel is not live")

// Action is an action that was started.
type Action struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Data      json.RawMessage `json:"data"`
	Duration  int             `json:"duration,omitempty"` // seconds; 0 for perpetual actions
	StartedAt time.Time       `json:"startedAt"`
	ExpiresAt *time.Time      `json:"expiresAt,omitempty"`
}

// Cue is what goes in-band: the action as viewers decode it, or a nil Payload to clear it.
type Cue struct {
	ID       string
	Payload  json.RawMessage // {"name":…,"data":…}
	Duration time.Duration
}

// Sink writes cues into a channel's live output.
type Sink interface {
	PutCue(channelID string, c Cue) error
}

// Publisher puts actions on the bus.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// Store keeps saved configurations.
type Store interface {
	SaveActionConfig(ctx context.Context, userID, name string, data json.RawMessage, at time.Time) error
	ActionConfigs(ctx context.Context, userID string) (map[string]json.RawMessage, error)
}

// Lives tells whether a channel is live.
type Lives interface {
	Live(channelID string) *streams.Live
}

// Options switch optional actions on.
type Options struct {
	AmazonProduct bool
}

// Service runs stream actions.
type Service struct {
	store   Store
	sink    Sink
	lives   Lives
	bus     Publisher // may be nil
	cluster Cluster   // may be nil: requests for streams on other nodes go here
	log     *slog.Logger
	now     func() time.Time
	opts    Options

	mu     sync.Mutex
	active map[string]*running    // by channel id
	sent   map[string][]time.Time // recent sends by channel id, for the rate limit
}

type running struct {
	action  *Action
	session string // the live session it belongs to
	timer   *time.Timer
}

// NewService wires stream actions. now may be nil.
func NewService(store Store, sink Sink, lives Lives, log *slog.Logger, now func() time.Time, opts Options) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, sink: sink, lives: lives, log: log, now: now, opts: opts, active: map[string]*running{}, sent: map[string][]time.Time{}}
}

// SetBus makes the service publish every start and stop on "streams.actions.{channelId}".
func (s *Service) SetBus(p Publisher) { s.bus = p }

// Start validates an action and sends it to the channel's viewers, replacing the active one.
// The configuration is saved as the streamer's last one (except for Amazon products, which
// come from a search).
//
// When the stream runs on another node of the cluster, the request goes there over the bus;
// ChannelNotBroadcasting means the channel is live on no node.
func (s *Service) Start(ctx context.Context, ch *channels.Channel, name string, data json.RawMessage) (*Action, error) {
	return s.start(ctx, ch, name, data, true)
}

func (s *Service) startHere(ctx context.Context, ch *channels.Channel, name string, data json.RawMessage) (*Action, error) {
	return s.start(ctx, ch, name, data, false)
}

func (s *Service) start(ctx context.Context, ch *channels.Channel, name string, data json.RawMessage, mayForward bool) (*Action, error) {
	if name == AmazonProduct && !s.opts.AmazonProduct {
		return nil, invalid("name", "The Amazon product stream action is not enabled on this server.")
	}
	norm, duration, err := normalize(name, data, check{sending: true})
	if err != nil {
		return nil, err
	}
	payload, _ := json.Marshal(struct {
		Name string          `json:"name"`
		Data json.RawMessage `json:"data"`
	}{name, norm})
	if len(payload) > MaxEncodedPayloadLen {
		return nil, &problem.Problem{Kind: problem.ErrTooLarge, Code: "TimedMetadataValidationException", Message: "The action is over the 1 KB limit for timed metadata: shorten its text."}
	}
	live := s.lives.Live(ch.ID)
	if live == nil {
		if mayForward {
			if a, found, err := s.forward(ctx, request{Op: "start", Channel: *ch, Name: name, Data: data}); found || err != nil {
				return a, err
			}
		}
		return nil, notBroadcasting()
	}
	if err := s.allow(ch.ID); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	a := &Action{ID: "sa-" + channels.RandomID(12), Name: name, Data: norm, Duration: duration, StartedAt: now}
	if duration > 0 {
		exp := now.Add(time.Duration(duration) * time.Second)
		a.ExpiresAt = &exp
	}
	if err := s.sink.PutCue(ch.ID, Cue{ID: a.ID, Payload: payload, Duration: time.Duration(duration) * time.Second}); err != nil {
		if errors.Is(err, ErrNotLive) {
			return nil, notBroadcasting()
		}
		return nil, err
	}
	s.mu.Lock()
	if old := s.active[ch.ID]; old != nil && old.timer != nil {
		old.timer.Stop()
	}
	r := &running{action: a, session: live.SessionID}
	if duration > 0 {
		r.timer = time.AfterFunc(time.Duration(duration)*time.Second, func() { s.clear(ch.ID, a.ID) })
	}
	s.active[ch.ID] = r
	s.mu.Unlock()
	s.publish(ch.ID, a)
	if name != AmazonProduct {
		if err := s.store.SaveActionConfig(ctx, ch.UserID, name, norm, now); err != nil {
			s.log.Error("saving the stream action's configuration", "channel", ch.ID, "err", err)
		}
	}
	return a, nil
}

// Stop ends the channel's active action for every viewer, on whichever node runs the stream.
// Stopping when nothing is active does nothing.
func (s *Service) Stop(ctx context.Context, ch *channels.Channel) error {
	if s.lives.Live(ch.ID) == nil {
		if _, found, err := s.forward(ctx, request{Op: "stop", Channel: *ch}); found || err != nil {
			return err
		}
		return notBroadcasting()
	}
	return s.stopHere(ctx, ch)
}

func (s *Service) stopHere(_ context.Context, ch *channels.Channel) error {
	if s.lives.Live(ch.ID) == nil {
		return notBroadcasting()
	}
	s.mu.Lock()
	r := s.active[ch.ID]
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	if err := s.allow(ch.ID); err != nil {
		return err
	}
	if err := s.sink.PutCue(ch.ID, Cue{ID: r.action.ID}); err != nil && !errors.Is(err, ErrNotLive) {
		return err
	}
	s.clear(ch.ID, r.action.ID)
	return nil
}

// Active returns the channel's active action, or nil.
func (s *Service) Active(channelID string) *Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.active[channelID]; r != nil {
		return r.action
	}
	return nil
}

// Current returns the channel's active action on whichever node runs its stream, or nil.
func (s *Service) Current(ctx context.Context, ch *channels.Channel) *Action {
	if s.lives.Live(ch.ID) != nil {
		return s.Active(ch.ID)
	}
	a, _, err := s.forward(ctx, request{Op: "active", Channel: *ch})
	if err != nil {
		s.log.Warn("asking for the active stream action", "channel", ch.ID, "err", err)
	}
	return a
}

// Save stores a configuration without sending it; unfinished forms may be saved, within the
// limits.
func (s *Service) Save(ctx context.Context, userID, name string, data json.RawMessage) (json.RawMessage, error) {
	if name == AmazonProduct {
		return nil, invalid("name", "Amazon products are chosen from a search and not saved.")
	}
	norm, _, err := normalize(name, data, check{})
	if err != nil {
		return nil, err
	}
	if err := s.store.SaveActionConfig(ctx, userID, name, norm, s.now().UTC()); err != nil {
		return nil, err
	}
	return norm, nil
}

// Saved returns a user's saved configurations by action name.
func (s *Service) Saved(ctx context.Context, userID string) (map[string]json.RawMessage, error) {
	return s.store.ActionConfigs(ctx, userID)
}

// Output answers other nodes' requests for a channel's actions while its stream runs here, and
// ends the channel's active action when its stream ends.
func (s *Service) Output() streams.Output { return output{s} }

type output struct{ s *Service }

func (o output) Start(v *streams.View) streams.Run {
	unserve := o.s.serve(v.Channel.ID) // now: the stream is live here from its first unit
	return func(ctx context.Context, _ chan<- streams.Report) error {
		<-ctx.Done()
		unserve()
		o.s.mu.Lock()
		r := o.s.active[v.Channel.ID]
		o.s.mu.Unlock()
		if r != nil && r.session == v.SessionID {
			o.s.clear(v.Channel.ID, r.action.ID)
		}
		return nil
	}
}

// clear forgets the channel's active action if it is still the given one (a stop, its expiry
// or the end of its stream), and says so on the bus.
func (s *Service) clear(channelID, id string) {
	s.mu.Lock()
	r := s.active[channelID]
	if r == nil || r.action.ID != id {
		s.mu.Unlock()
		return
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	delete(s.active, channelID)
	s.mu.Unlock()
	s.publish(channelID, nil)
}

// allow applies the per-channel rate limit.
func (s *Service) allow(channelID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	recent := s.sent[channelID][:0]
	for _, t := range s.sent[channelID] {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	if len(recent) >= RatePerSecond {
		s.sent[channelID] = recent
		return &problem.Problem{Kind: problem.ErrThrottled, Code: "TooManyRequestsException", Message: "At most 5 stream actions per second: wait a moment.", RetryAfter: time.Second - now.Sub(recent[0])}
	}
	s.sent[channelID] = append(recent, now)
	return nil
}

func (s *Service) publish(channelID string, a *Action) {
	if s.bus == nil {
		return
	}
	msg, _ := json.Marshal(map[string]any{"channelId": channelID, "action": a})
	if err := s.bus.Publish(context.Background(), "streams.actions."+channelID, msg); err != nil {
		s.log.Warn("publishing a stream action", "channel", channelID, "err", err)
	}
}

func notBroadcasting() error {
	return problem.NotFound("ChannelNotBroadcasting", "Your channel is not live: stream actions need a live stream.")
}
