package streams

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// DefaultLease is how long a node's lease lasts without renewal. A node renews it three times
// per lease, so a session is taken from its node after about three missed renewals.
const DefaultLease = 15 * time.Second

// StopSubjectPrefix starts the bus subject, "streams.stop.{channelId}", that asks whichever
// node runs a channel's live session to end it.
const StopSubjectPrefix = "streams.stop."

// SetLease sets how long this node's lease lasts unrenewed; call it before Recover.
func (s *Service) SetLease(d time.Duration) {
	if d > 0 {
		s.lease = d
	}
}

// RunLease renews this node's lease every third of its length until ctx is done, then drops
// it (call it after Shutdown, when this node runs no session any more). Each round also ends
// other nodes' sessions whose lease has expired, and checks this node's own sessions against
// the store: one ended there by another node (this node's lease lapsed) is dropped here
// without events, and one whose owner was suspended is ended.
func (s *Service) RunLease(ctx context.Context) error {
	tick := time.NewTicker(s.lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return s.store.DropNodeLease(stopCtx, s.node)
		case <-tick.C:
			s.renew(ctx)
		}
	}
}

func (s *Service) renew(ctx context.Context) {
	now := s.now().UTC()
	if err := s.store.RenewNodeLease(ctx, s.node, now, now.Add(s.lease)); err != nil {
		if ctx.Err() == nil {
			s.log.Error("renewing the node lease", "node", s.node, "err", err)
		}
		return
	}
	ids, err := s.store.EndStaleStreamSessions(ctx, "", now)
	s.endedElsewhere(ids, staleReason)
	if len(ids) > 0 {
		s.log.Warn("ended sessions of nodes whose lease expired", "count", len(ids))
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error("ending stale sessions", "err", err)
	}
	s.check(ctx)
}

// check compares this node's live sessions with the store's record of them.
func (s *Service) check(ctx context.Context) {
	s.mu.Lock()
	var lives []*Live
	for _, l := range s.live {
		if l.opened { // opened before the query below, so its absence there means it ended
			lives = append(lives, l)
		}
	}
	s.mu.Unlock()
	if len(lives) == 0 {
		return
	}
	open, err := s.store.NodeStreamSessions(ctx, s.node)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("checking live sessions", "err", err)
		}
		return
	}
	for _, l := range lives {
		suspended, ok := open[l.SessionID]
		switch {
		case !ok:
			s.log.Warn("a live session was ended by another node; this node's lease had lapsed", "session", l.SessionID, "channel", l.Channel.ID)
			l.drop()
		case suspended:
			l.stop(ReasonSuspended)
		}
	}
}

// ReasonSuspended is recorded with the end of a session whose owner an operator suspended.
const ReasonSuspended = "account suspended"

// drop stops a session that is already ended on record: the publisher is disconnected and the
// outputs stop, with no events (whoever ended it wrote them).
func (l *Live) drop() {
	l.requestEnd(ending{silent: true, kickFirst: true})
	<-l.done
}

// stop ends the session from our side and then disconnects the publisher: in that order, so
// that the publisher's going away does not end the session first with another reason.
func (l *Live) stop(reason string) {
	l.requestEnd(ending{reason: reason, kickAfter: true})
	<-l.done
	if !l.end.kickFirst && !l.end.kickAfter { // it was ending already, for another reason
		l.kickEncoder()
	}
}

// Stop ends a channel's live session from our side (stream key reset, suspension, account
// deletion): the publisher is disconnected. When the session runs on another node, the
// request goes to it over the bus.
func (s *Service) Stop(channelID, reason string) {
	if l := s.Live(channelID); l != nil {
		l.stop(reason)
		return
	}
	if s.bus == nil {
		return
	}
	msg, _ := json.Marshal(stopMessage{Reason: reason})
	if err := s.bus.Publish(context.Background(), StopSubjectPrefix+channelID, msg); err != nil {
		s.log.Warn("asking other nodes to end a stream", "channel", channelID, "err", err)
	}
}

type stopMessage struct {
	Reason string `json:"reason"`
}

// DeliverStop is the bus handler of StopSubjectPrefix+">": it ends the channel's session if
// it runs on this node. The session's goroutine ends it (writing to the store), not the bus's
// delivery.
func (s *Service) DeliverStop(subject string, data []byte) {
	channelID, ok := strings.CutPrefix(subject, StopSubjectPrefix)
	var m stopMessage
	if !ok || json.Unmarshal(data, &m) != nil || m.Reason == "" {
		s.log.Warn("ignoring a malformed stop request", "subject", subject)
		return
	}
	if l := s.Live(channelID); l != nil {
		l.requestEnd(ending{reason: m.Reason, kickAfter: true})
	}
}

// Origin is where a channel's open session runs: the session, its node and the base URL
// other nodes reach that node at (its node_url), for relaying the stream's HLS.
type Origin struct {
	SessionID string
	Node      string
	URL       string
}
