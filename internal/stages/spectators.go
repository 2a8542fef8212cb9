package stages

import (
	"context"
	"time"

	"github.com/livehouse/livehouse/internal/problem"
	"github.com/livehouse/livehouse/internal/viewers"
)

// Audience counts a stage's spectators among the viewers of the host's channel, as the WHEP
// output counts its viewers: the server beacons on the spectator's behalf while it serves
// them media, since a page watching over WebRTC runs no HLS player to beacon for it.
type Audience interface {
	// Session names the playback session of a token (one Tokens.Check accepted). A
	// spectator subscribes once per publisher, each time with the token of its latest
	// reading of the channel; the session is what makes those one viewer.
	Session(channelID, token string) (string, error)
	// Beacon counts the session and renews its token; it refuses a viewer banned since.
	Beacon(ctx context.Context, channelID, token, addr string) (viewers.Ticket, error)
	// Leave stops counting the session at once.
	Leave(channelID, token string) error
}

// audience is a stage's counted spectators.
type audience struct {
	bySession map[string]*spectator
	bySub     map[string]string // spectator subscription id → its session
}

type spectator struct {
	token, addr string // the latest token (each beacon renews it) and where it came from
	subs        map[string]bool
	renew       time.Time // when the next beacon is due
}

// spectate subscribes a spectator, counted as a viewer of the channel from its first
// subscription until its last one ends (SubscriptionEnded). A subscription the SFU ends in
// the instant between answering and being recorded here is missed, and its spectator counts
// until the stage ends: a window of microseconds, left open rather than adding tombstones.
func (s *Service) spectate(ctx context.Context, st *stage, publisherID, token, addr, offer string) (string, string, error) {
	session, err := s.audience.Session(st.channelID, token)
	if err != nil {
		return "", "", err
	}
	ticket, err := s.audience.Beacon(ctx, st.channelID, token, addr)
	if err != nil {
		return "", "", err
	}
	id, answer, err := s.media.Subscribe(ctx, st.id, publisherID, "", addr, offer)
	s.mu.Lock()
	a := &st.audience
	if err == nil && s.byID[st.id] == st {
		if a.bySession == nil {
			a.bySession, a.bySub = map[string]*spectator{}, map[string]string{}
		}
		sp := a.bySession[session]
		if sp == nil {
			sp = &spectator{subs: map[string]bool{}}
			a.bySession[session] = sp
		}
		sp.token, sp.addr, sp.renew = ticket.Token, addr, s.now().Add(ticket.RenewAfter)
		sp.subs[id] = true
		a.bySub[id] = session
		s.mu.Unlock()
		return id, answer, nil
	}
	counted := a.bySession[session] != nil
	s.mu.Unlock()
	if !counted {
		_ = s.audience.Leave(st.channelID, ticket.Token)
	}
	return id, answer, err
}

// SubscriptionEnded is the SFU's word that a subscription ended, whatever ended it (an
// unsubscribe, its publisher leaving, its connection failing): a spectator whose last
// subscription it was no longer counts. owner is the subscribing participant, "" for a
// spectator. Unknown ids are ignored, so hearing of one twice is harmless.
func (s *Service) SubscriptionEnded(stageID, id, owner string) {
	if owner != "" || s.audience == nil {
		return
	}
	s.mu.Lock()
	st := s.byID[stageID]
	if st == nil { // ended: releaseSpectators let everyone go
		s.mu.Unlock()
		return
	}
	a := &st.audience
	session, ok := a.bySub[id]
	if !ok {
		s.mu.Unlock()
		return
	}
	delete(a.bySub, id)
	sp := a.bySession[session]
	delete(sp.subs, id)
	if len(sp.subs) > 0 {
		s.mu.Unlock()
		return
	}
	delete(a.bySession, session)
	s.mu.Unlock()
	_ = s.audience.Leave(st.channelID, sp.token)
}

// releaseSpectators stops counting the spectators of a stage that ended.
func (s *Service) releaseSpectators(st *stage) {
	if s.audience == nil {
		return
	}
	s.mu.Lock()
	var tokens []string
	for _, sp := range st.audience.bySession {
		tokens = append(tokens, sp.token)
	}
	st.audience = audience{}
	s.mu.Unlock()
	for _, t := range tokens {
		_ = s.audience.Leave(st.channelID, t)
	}
}

// renewSpectators beacons for the spectators whose renewal is due; one refused (banned
// since, or taken off a private channel's allowlist) loses its subscriptions, as a WHEP
// viewer does.
func (s *Service) renewSpectators(ctx context.Context) {
	if s.audience == nil {
		return
	}
	type due struct {
		st                   *stage
		session, token, addr string
		subs                 []string
	}
	now := s.now()
	var all []due
	s.mu.Lock()
	for _, st := range s.byID {
		for session, sp := range st.audience.bySession {
			if now.Before(sp.renew) {
				continue
			}
			d := due{st: st, session: session, token: sp.token, addr: sp.addr}
			for id := range sp.subs {
				d.subs = append(d.subs, id)
			}
			all = append(all, d)
		}
	}
	s.mu.Unlock()
	for _, d := range all {
		t, err := s.audience.Beacon(ctx, d.st.channelID, d.token, d.addr)
		if _, refused := problem.As(err); refused {
			for _, id := range d.subs {
				_ = s.media.Unsubscribe(d.st.id, id)
				s.SubscriptionEnded(d.st.id, id, "")
			}
			continue
		}
		if err != nil {
			s.log.Warn("renewing a stage spectator's playback session", "stage", d.st.id, "err", err)
			continue
		}
		s.mu.Lock()
		if sp := d.st.audience.bySession[d.session]; sp != nil {
			sp.token, sp.renew = t.Token, now.Add(t.RenewAfter)
		}
		s.mu.Unlock()
	}
}
