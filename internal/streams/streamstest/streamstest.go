// Package streamstest is a streams.Store in memory, for the tests of what runs inside a live
// session (the outputs: packager, recorder, thumbnails) and of the ingests that start one
// (RTMP, SRT): sessions open and end, events are kept, one channel answers for a stream key.
// The streams package's own tests keep their own store, which also plays other nodes.
package streamstest

import (
	"context"
	"sync"
	"time"

	"github.com/livehouse/livehouse/internal/streams"
)

// Store is a streams.Store of one node, in memory. Its zero value is not ready: use New.
type Store struct {
	channel streams.Channel
	keyHash string // "": every key opens the channel

	mu       sync.Mutex
	sessions map[string]string // session id to channel id
	ended    []string          // session ids, in the order they ended
	events   []streams.Event
	ingest   string // the newest ingest configuration recorded
	event    chan struct{}
}

// New returns a store in which every stream key opens the channel ch.
func New(ch streams.Channel) *Store {
	return &Store{channel: ch, sessions: map[string]string{}, event: make(chan struct{}, 1)}
}

// WithKeyHash has only the stream key of this hash (channels.HashStreamKey) open the channel;
// others are streams.ErrUnknownKey.
func (s *Store) WithKeyHash(hash string) *Store {
	s.keyHash = hash
	return s
}

// Events returns the events recorded so far, in order.
func (s *Store) Events() []streams.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]streams.Event(nil), s.events...)
}

// EventNames returns the names of the events recorded so far, in order.
func (s *Store) EventNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.events))
	for i, e := range s.events {
		names[i] = e.Name
	}
	return names
}

// EventAdded is signalled after an event is recorded (one signal may stand for several).
func (s *Store) EventAdded() <-chan struct{} { return s.event }

// Ingest returns the newest ingest configuration recorded.
func (s *Store) Ingest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ingest
}

// Ended returns the ids of the sessions ended so far, in order.
func (s *Store) Ended() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ended...)
}

// ChannelOf returns the channel of a session recorded here (open or ended), or "".
func (s *Store) ChannelOf(sessionID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[sessionID]
}

func (s *Store) ChannelByStreamKeyHash(_ context.Context, hash string) (*streams.Channel, error) {
	if s.keyHash != "" && hash != s.keyHash {
		return nil, streams.ErrUnknownKey
	}
	ch := s.channel
	return &ch, nil
}

// OpenStreamSession refuses a second open session of a channel, as the real stores do.
func (s *Store) OpenStreamSession(_ context.Context, id, channelID, _ string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ch := range s.sessions {
		if ch == channelID && !s.isEnded(id) {
			return streams.ErrAlreadyLive
		}
	}
	s.sessions[id] = channelID
	return nil
}

func (s *Store) isEnded(id string) bool {
	for _, e := range s.ended {
		if e == id {
			return true
		}
	}
	return false
}

func (s *Store) StartStreamSession(context.Context, string, time.Time) error { return nil }

func (s *Store) EndStreamSession(_ context.Context, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isEnded(id) {
		s.ended = append(s.ended, id)
	}
	return nil
}

func (s *Store) AddStreamEvent(_ context.Context, e *streams.Event) error {
	s.mu.Lock()
	s.events = append(s.events, *e)
	s.mu.Unlock()
	select {
	case s.event <- struct{}{}:
	default:
	}
	return nil
}

func (s *Store) SetIngestConfig(_ context.Context, _, config string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ingest = config
	return nil
}

func (s *Store) StreamEvents(_ context.Context, sessionID string) ([]streams.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []streams.Event
	for _, e := range s.events {
		if e.SessionID == sessionID {
			out = append(out, e)
		}
	}
	return out, nil
}

// The node's own sessions are all there is: no other node holds a lease or a session.

func (s *Store) EndOrphanedStreamSessions(context.Context, string, time.Time) (map[string]streams.EndedSession, error) {
	return nil, nil
}
func (s *Store) RenewNodeLease(context.Context, string, time.Time, time.Time) error { return nil }
func (s *Store) DropNodeLease(context.Context, string) error                        { return nil }
func (s *Store) EndStaleStreamSessions(context.Context, string, time.Time) (map[string]streams.EndedSession, error) {
	return nil, nil
}
func (s *Store) HasOpenStreamSession(context.Context, string) (bool, error) { return false, nil }
func (s *Store) NodeStreamSessions(context.Context, string) (map[string]bool, error) {
	return nil, nil
}

var _ streams.Store = (*Store)(nil)
